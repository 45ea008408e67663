import Foundation
import SystemCalls
import ObjectStore
import StreamTar

/// The tree record as the backup writes it: lines gathered in a fixed buffer and spilled to an
/// unlinked temporary file, then written as the archive's last entry once its length is known.
/// Memory: ``bufferBytes`` whatever the tree's size (a 500,000-file tree's record is ~65 MB).
final class RecordSpool {
    static let bufferBytes = 1 << 20

    let header: TreeRecord.Header
    private let hash = SHA256Stream()
    private var buffer: [UInt8] = []
    private var spill: FileDescriptor?
    private let spillPath: String
    private var spilled: Int64 = 0
    private(set) var lines = 0

    /// `directory`: where the spill file goes once the record outgrows the buffer.
    init(header: TreeRecord.Header, directory: String) {
        self.header = header
        spillPath = directory
        buffer.reserveCapacity(Self.bufferBytes + 4096)
        buffer += header.encoded()
    }

    deinit { spill?.close() }

    func add(_ line: TreeRecord.Line) throws {
        line.encode(into: &buffer)
        lines += 1
        if buffer.count >= Self.bufferBytes { try flush() }
    }

    /// The body's length and SHA-256, once every line is in.
    func finish() throws -> (length: Int64, sha256: String) {
        let length = spilled + Int64(buffer.count)
        // The hash covers spilled bytes as they went out; the rest now.
        buffer.withUnsafeBytes { hash.update($0) }
        return (length, hash.finishHex())
    }

    /// Writes the record as a tar entry (after ``finish()``).
    func write(into writer: TarWriter, length: Int64) throws {
        var h = TarHeader(name: TarPath(bytes: PathBytes(path: TreeRecord.archivePath)), mode: 0o640,
                          uid: Int(geteuid()), gid: Int(getegid()), size: length,
                          modificationTime: TarTime(seconds: Int64(time(nil))))
        TarOwnerNames().fill(&h)
        try writer.writeHeader(h)
        if let spill {
            var chunk = [UInt8](repeating: 0, count: 1 << 20)
            var at: Int64 = 0
            while at < spilled {
                let want = Int(min(Int64(chunk.count), spilled - at))
                let n: Int
                do { n = try chunk.withUnsafeMutableBytes { try spill.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<want]), at: at) } }
                catch { throw StoreError.call("Cannot read back the tree record", "pread", path: spillPath, errno: error as? Errno ?? .ioError) }
                guard n > 0 else { throw StoreError.call("Cannot read back the tree record", "pread", path: spillPath, errno: .ioError) }
                try chunk.withUnsafeBytes { try writer.writeBody(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                at += Int64(n)
            }
        }
        try buffer.withUnsafeBytes { try writer.writeBody($0) }
    }

    private func flush() throws {
        if spill == nil {
            var template = Array((spillPath + "/.fastbackup-record-XXXXXX").utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { throw StoreError.call("Cannot spool the tree record", "mkstemp", path: spillPath) }
            // Unlinked at once: a killed run leaves nothing behind.
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            spill = FileDescriptor(rawValue: fd)
        }
        do { try buffer.withUnsafeBytes { try spill!.writeAll($0) } }
        catch { throw StoreError.call("Cannot spool the tree record", "write", path: spillPath, errno: error as? Errno ?? .ioError) }
        buffer.withUnsafeBytes { hash.update($0) }
        spilled += Int64(buffer.count)
        buffer.removeAll(keepingCapacity: true)
    }
}
