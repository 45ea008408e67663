import Foundation
import SystemCalls
import ThreadKit

/// `--target` with `--keep-local`: one stream, two backups. The producer writes to a pipe; one
/// thread copies each piece to the local file (``AtomicOutputFile``) and to the upload
/// (``ObjectOutput``), so the backup is made once and the copy costs a pipe hop, not a second
/// run or a second read of the local file afterwards.
///
/// Commit: the object first (the copy that leaves the machine is the point of `--target`),
/// then the local file. Each is whole or absent; when the second fails the error says the
/// first exists. Memory: one 1 MiB copy buffer besides the two outputs' own.
final class TeeOutput: BackupOutput {
    let local: AtomicOutputFile
    let remote: ObjectOutput
    let fd: Int32
    private let readEnd: Int32
    private let done = DispatchGroup()
    private let monitor = Monitor()
    private var failure: Error?
    private var writeEndClosed = false
    private var finished = false

    init(local: AtomicOutputFile, remote: ObjectOutput) throws {
        self.local = local
        self.remote = remote
        let ends: (read: FileDescriptor, write: FileDescriptor)
        do { ends = try FileDescriptor.pipe(capacity: 1 << 20) } catch {
            throw StoreError.call("Cannot create a pipe for \(remote.url)", "pipe", errno: error)
        }
        (readEnd, fd) = (ends.read.rawValue, ends.write.rawValue)
        do {
            try startThread(named: "tee", stackSize: ThreadStack.standard, group: done) { [self] in copy() }
        } catch {
            close(readEnd); close(fd)
            throw error
        }
    }

    deinit { abandon() }

    var displayPath: String { remote.url }
    var isLocalFile: Bool { false }

    func commit() throws {
        guard !finished else { return }
        closeWriting()
        done.wait()
        if let failure = monitor.withLock({ failure }) {
            throw failureBehind(failure)
        }
        finished = true
        do { try remote.commit() } catch {
            local.abandon()
            throw error
        }
        do { try local.commit() } catch {
            throw StoreError(.failed, "\(error) (the backup was uploaded to \(remote.url); only the local copy is missing)")
        }
    }

    func abandon() {
        guard !finished else { return }
        finished = true
        closeWriting()
        done.wait()
        remote.abandon()
        local.abandon()
    }

    func failureBehind(_ error: Error) -> Error {
        closeWriting()
        done.wait()
        let copying = monitor.withLock { failure }
        let uploading = remote.failureBehind(copying ?? error)
        if !finished { finished = true; local.abandon() }
        return uploading
    }

    private func closeWriting() {
        monitor.withLock {
            if !writeEndClosed { close(fd); writeEndClosed = true }
        }
    }

    /// Copies until the producer closes its end or a write fails; then closes the read end,
    /// so a producer still writing gets EPIPE instead of blocking on a full pipe.
    private func copy() {
        defer { close(readEnd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        let source = FileDescriptor(rawValue: readEnd)
        while true {
            let n: Int
            do { n = try source.read(into: buffer) } catch {
                record(StoreError(.failed, "Cannot read the backup stream: \(error)"))
                return
            }
            if n == 0 { return }
            let piece = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            do { try FileDescriptor(rawValue: local.fd).writeAll(piece) } catch {
                record(StoreError(.failed, "Cannot write \(local.temporaryPath): \(error)"))
                return
            }
            do { try FileDescriptor(rawValue: remote.fd).writeAll(piece) } catch {
                record(StoreError(.failed, "Cannot hand the backup stream to the upload of \(remote.url): \(error)"))
                return
            }
        }
    }

    private func record(_ error: Error) {
        monitor.withLock { if failure == nil { failure = error } }
    }
}
