import DBStream
import SystemCalls
import Foundation
import ObjectStore
import ThreadKit
import ParallelGzip

/// `setup:rollback -d`: streams the SQL file into the server.
///
/// Magento's own `setup:backup --db` writes its `_db.sql` through PHP's `compress.zlib://` stream
/// at level 9, so that file is gzip under a `.sql` name (and Magento's rollback reads plain SQL the
/// same way, through zlib's transparent read). A file that starts with the gzip magic is
/// inflated on the way in: a thread feeds the statement splitter through a pipe.
enum DatabaseRestore {
    /// - Parameter asWritten: no LOAD DATA rows and no held-back keys (``RestoreOptions``).
    static func run(config: DatabaseConfig, file: String, threads: Int, asWritten: Bool = false,
                    objectStore: S3Settings? = nil) throws {
        let restorer = SQLRestorer(config: config, options: RestoreOptions(threads: threads, deferSecondaryKeys: !asWritten,
                                                                          loadData: !asWritten))
        if S3Location.object(file) != nil {
            // From the object store: plain SQL as fastbackup writes it, streamed by ranges.
            let input = try ArchiveInput(file, settings: objectStore)
            do {
                let stats = try restorer.restore(fromFD: input.fd, path: file)
                try input.finish()
                Console.detail("\(stats)")
            } catch {
                throw input.failureBehind(error)
            }
            return
        }
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.call("Cannot open \(file)", "open", path: file) }
        defer { close(fd) }
        guard isGzip(fd) else {
            Console.detail("\(try restorer.restore(fromFD: fd, path: file))")
            return
        }
        Console.detail("\(file) is gzip-compressed (as Magento writes its DB backups); inflating it on the way in")
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { throw StoreError.call("Cannot create a pipe", "pipe") }
        let (readEnd, writeEnd) = (ends[0], ends[1])
        let inflater = Inflater(input: fd, path: file, output: writeEnd)
        let done = DispatchGroup()
        do {
            try startThread(named: "inflate-sql", stackSize: ThreadStack.standard, group: done) {
                inflater.run()
                close(writeEnd)
            }
        } catch {
            close(readEnd)
            close(writeEnd)
            throw error
        }
        let result = Result { try restorer.restore(fromFD: readEnd, path: file) }
        // A restorer that stopped early leaves the inflater blocked on a full pipe: closing the
        // read end ends its write with EPIPE (SIGPIPE is ignored by the command's signal set-up).
        close(readEnd)
        done.wait()
        // The inflater's error comes first: a stream cut at a statement boundary reads as a
        // clean end to the splitter, so its success alone proves nothing.
        if let error = inflater.error, !inflater.stoppedByReader { throw error }
        Console.detail("\(try result.get())")
    }

    private static func isGzip(_ fd: Int32) -> Bool {
        var magic: [UInt8] = [0, 0]
        let n = pread(fd, &magic, 2, 0)
        return n == 2 && magic[0] == 0x1f && magic[1] == 0x8b
    }
}

/// Inflates a gzip file into a pipe; keeps the first error.
private final class Inflater: @unchecked Sendable {
    let input: Int32, path: String, output: Int32
    private(set) var error: Error?
    /// The write failed with EPIPE: the reader stopped first (its own error is the one to report).
    private(set) var stoppedByReader = false

    init(input: Int32, path: String, output: Int32) {
        self.input = input
        self.path = path
        self.output = output
    }

    func run() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        do {
            let d = try ParallelDecompressor(inputFD: input, path: path, threads: 2)
            while true {
                let n = try d.read(into: buffer)
                if n == 0 { return }
                do throws(Errno) { try FileDescriptor(rawValue: output).writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<n])) }
                catch {
                    if error.rawValue == EPIPE { stoppedByReader = true }
                    throw StoreError(.failed, "Cannot pass \(path) on after inflating it: \(error)")
                }
            }
        } catch {
            self.error = StoreError(.failed, "Cannot read \(path): \(error)")
        }
    }
}
