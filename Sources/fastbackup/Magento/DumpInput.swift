import DBStream
import Foundation
import ObjectStore
import ParallelGzip
import SystemCalls
import ThreadKit

/// A dump to read as plain SQL, whatever it is stored as: a local file or an object; plain, or
/// compressed (gzip under a `.sql` name, as Magento's own `setup:backup --db` writes it through
/// PHP's zlib stream; `.sql.gz` or `.sql.zst`, as `--compression` writes it). Compressed input
/// is inflated in parallel by a thread that writes plain SQL into a pipe; ``fd`` is what the
/// reader (the statement splitter) reads either way.
///
/// `keepTail`: the bytes also pass through a thread that keeps the last 4 KiB (``tail``), where
/// a dump's completion line is, even for a plain file.
final class DumpInput {
    let fd: Int32
    private let source: ArchiveInput
    private var pump: Pump?
    private let done = DispatchGroup()
    private var finished = false

    init(_ file: String, settings: S3Settings?, keepTail: Bool = false) throws {
        source = try ArchiveInput(file, settings: settings)
        let compressed = file.hasSuffix(".gz") || file.hasSuffix(".zst") || Self.startsCompressed(source.fd)
        guard compressed || keepTail else {
            fd = source.fd
            return
        }
        let ends: (read: FileDescriptor, write: FileDescriptor)
        do { ends = try FileDescriptor.pipe() } catch { throw StoreError.call("Cannot create a pipe", "pipe", errno: error) }
        let pump = Pump(input: source.fd, path: file, output: ends.write.rawValue, inflate: compressed)
        do {
            try startThread(named: compressed ? "inflate-sql" : "read-sql", stackSize: ThreadStack.standard, group: done) {
                pump.run()
                ends.write.close()
            }
        } catch {
            ends.read.close(); ends.write.close()
            throw error
        }
        self.pump = pump
        fd = ends.read.rawValue
        if compressed { Console.detail("\(file) is compressed; inflating it on the way in") }
    }

    deinit { _ = try? finish(readerError: nil) }

    /// What a filtered dump says about itself in its first lines (``DBStream/DumpFilterRecord``);
    /// nil for a whole dump, another tool's, or one that cannot be read (the restore says why).
    static func filterRecord(_ file: String, settings: S3Settings?) -> DumpFilterRecord? {
        guard let input = try? DumpInput(file, settings: settings) else { return nil }
        var head = [UInt8](repeating: 0, count: 64 << 10)
        let got = (try? head.withUnsafeMutableBytes { try FileDescriptor(rawValue: input.fd).readFull(into: $0) }) ?? 0
        _ = try? input.finish(readerError: nil)
        return DumpFilterRecord.find(inHead: Array(head[0..<got]))
    }

    /// The last bytes that passed (with `keepTail`), after ``finish(readerError:)``.
    var tail: [UInt8] { pump?.tail ?? [] }

    /// Ends the reading: closes the reader's end, waits for the inflater and the download, and
    /// throws the error to report. Theirs come first: a stream cut at a statement boundary
    /// reads as a clean end to the splitter, so its success alone proves nothing.
    func finish(readerError: Error?) throws {
        guard !finished else { return }
        finished = true
        if let pump {
            // A reader that stopped early leaves the pump blocked on a full pipe: closing the
            // read end ends its write with EPIPE (SIGPIPE is ignored by the signal set-up).
            close(fd)
            done.wait()
            if let error = pump.error, !pump.stoppedByReader { throw source.failureBehind(error) }
        }
        if let readerError { throw source.failureBehind(readerError) }
        try source.finish()
    }

    /// gzip (1f 8b) or zstd (28 b5 2f fd) magic at the start of a local file.
    private static func startsCompressed(_ fd: Int32) -> Bool {
        var magic: [UInt8] = [0, 0, 0, 0]
        let n = pread(fd, &magic, 4, 0)
        return (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b) || (n == 4 && magic == [0x28, 0xb5, 0x2f, 0xfd])
    }
}

/// Copies (inflating or not) a dump into a pipe; keeps the first error and the last 4 KiB.
private final class Pump: @unchecked Sendable {
    let input: Int32, path: String, output: Int32, inflate: Bool
    private(set) var error: Error?
    /// The write failed with EPIPE: the reader stopped first (its own error is the one to report).
    private(set) var stoppedByReader = false
    private(set) var tail: [UInt8] = []

    init(input: Int32, path: String, output: Int32, inflate: Bool) {
        self.input = input
        self.path = path
        self.output = output
        self.inflate = inflate
    }

    func run() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        do {
            let decompressor = inflate ? try ParallelDecompressor(inputFD: input, path: path, threads: 2) : nil
            while true {
                let n = try decompressor?.read(into: buffer) ?? FileDescriptor(rawValue: input).read(into: buffer)
                if n == 0 { return }
                let piece = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                tail = piece.count >= 4096 ? Array(piece.suffix(4096)) : Array((tail + piece).suffix(4096))
                do throws(Errno) { try FileDescriptor(rawValue: output).writeAll(piece) }
                catch {
                    if error.rawValue == EPIPE { stoppedByReader = true }
                    throw StoreError(.failed, "Cannot pass \(path) on: \(error)")
                }
            }
        } catch {
            self.error = StoreError(.failed, "Cannot read \(path): \(error)")
        }
    }
}
