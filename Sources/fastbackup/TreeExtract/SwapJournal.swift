import Foundation
import SystemCalls

/// The journal of one tree swap, owned end to end here: written and flushed before the first
/// rename, removed once the last rename is done (or every rename undone), and read back by the
/// next run to finish a swap that was killed half-way. While it exists, the live tree may be
/// half swapped; nothing else writes or removes it.
struct SwapJournal {
    /// The journal could not be written: nothing was renamed, and `cause` says why.
    struct NotWritten: Error, CustomStringConvertible {
        let cause: Error
        var description: String { "\(cause)" }
    }

    let path: String

    /// Whether an earlier run left a swap to finish.
    var exists: Bool { FileManager.default.fileExists(atPath: path) }

    /// Writes the journal, performs `swap`, removes the journal. Throws ``NotWritten`` (nothing
    /// renamed), `SwapUndoneError` (every rename undone, the journal removed), or the error of
    /// an undo that failed, leaving the journal for the next run to finish the swap.
    func run(_ swap: TreeSwap) throws {
        do {
            try write(swap)
        } catch {
            unlink(path + ".tmp")
            throw NotWritten(cause: error)
        }
        do {
            try swap.perform(undoOnFailure: true)
        } catch let error as SwapUndoneError {
            unlink(path)
            throw error
        }
        unlink(path)
    }

    /// Finishes the swap an earlier run left, and returns it (its set-aside and staging folders
    /// are the caller's to remove); nil when there is none.
    func resume() throws -> TreeSwap? {
        guard exists else { return nil }
        let swap = try JSONDecoder().decode(TreeSwap.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        try swap.perform()
        unlink(path)
        return swap
    }

    /// Written to a temporary name, flushed, renamed, and the folder flushed: the journal is
    /// either whole or absent after a crash.
    private func write(_ swap: TreeSwap) throws {
        let data = try JSONEncoder().encode(swap)
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw TreeError("Cannot write the rollback journal \(tmp): \(String(cString: strerror(errno)))", errno: errno) }
        var failure: Int32?
        do {
            try data.withUnsafeBytes { try FileDescriptor(rawValue: fd).writeAll($0) }
            if fsync(fd) != 0 { failure = errno }
        } catch let error as Errno {
            failure = error.rawValue
        } catch {
            failure = EIO
        }
        close(fd)
        if failure == nil && Glibc.rename(tmp, path) != 0 { failure = errno }
        if let e = failure {
            throw TreeError("Cannot write the rollback journal \(path): \(String(cString: strerror(e)))", errno: e)
        }
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }
}
