import Foundation
import ThreadKit

/// A backup file written under a hidden temporary name in its final folder and linked into
/// place only when complete, so no half-written file ever looks like a finished backup.
/// link(2) fails when the final name exists, so of two runs that chose the same name (same
/// second) one fails cleanly instead of both "succeeding" with one file replacing the other.
/// A failure, or a signal (through SignalGuard), removes the temporary file.
final class AtomicOutputFile {
    let finalPath: String
    let temporaryPath: String
    private(set) var fd: Int32
    private var cleanupToken: Int?

    /// Removes the temporary files of runs killed with SIGKILL (which no clean-up can catch):
    /// hidden `.<name>.<pid>.<n>.partial` files. Called under the run lock, so none is a live
    /// run's. A killed media backup left ~100 MB that nothing listed.
    static func removeLeftovers(in dir: String, diagnostics: Diagnostics = .standardError) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return }
        for name in names where name.hasPrefix(".") && name.hasSuffix(".partial") {
            diagnostics.note("Removing \(dir)/\(name), left by an interrupted backup.")
            unlink(dir + "/" + name)
        }
    }

    /// Backups hold secrets (app/etc/env.php, customer data): readable by owner and group only.
    init(finalPath: String, mode: mode_t = 0o640) throws {
        self.finalPath = finalPath
        let dir = (finalPath as NSString).deletingLastPathComponent
        let name = (finalPath as NSString).lastPathComponent
        temporaryPath = "\(dir)/.\(name).\(getpid()).\(AtomicOutputFile.nextSerial()).partial"
        if FileManager.default.fileExists(atPath: finalPath) {
            throw TreeError("The backup file \(finalPath) already exists.")
        }
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw TreeError("Cannot create \(temporaryPath): \(String(cString: strerror(errno)))")
        }
        let path = temporaryPath
        cleanupToken = SignalGuard.shared.addCleanup { unlink(path) }
    }

    deinit { abandon() }

    private static let serialLock = Monitor()
    nonisolated(unsafe) private static var serial = 0

    /// A per-process number, so two outputs of one process never share a temporary name.
    private static func nextSerial() -> Int {
        serialLock.lock(); defer { serialLock.unlock() }
        serial += 1
        return serial
    }

    /// Flushes to disk and links into place (the directory entry is made durable too). Throws
    /// when the final name exists by then: it is never overwritten.
    func commit() throws {
        guard fd >= 0 else { throw TreeError("\(finalPath): output already closed") }
        if fsync(fd) != 0 {
            let err = errno
            abandon()
            throw TreeError("Cannot write \(finalPath): \(String(cString: strerror(err)))")
        }
        close(fd)
        fd = -1
        guard link(temporaryPath, finalPath) == 0 else {
            let err = errno
            abandon()
            if err == EEXIST { throw TreeError("The backup file \(finalPath) already exists.") }
            throw TreeError("Cannot link \(temporaryPath) to \(finalPath): \(String(cString: strerror(err)))")
        }
        unlink(temporaryPath)
        if let token = cleanupToken { SignalGuard.shared.removeCleanup(token) }
        cleanupToken = nil
        let dirfd = open((finalPath as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY)
        if dirfd >= 0 { fsync(dirfd); close(dirfd) }
    }

    /// Closes and removes the temporary file (nothing if already committed).
    func abandon() {
        if fd >= 0 { close(fd); fd = -1 }
        if let token = cleanupToken {
            unlink(temporaryPath)
            SignalGuard.shared.removeCleanup(token)
            cleanupToken = nil
        }
    }
}
