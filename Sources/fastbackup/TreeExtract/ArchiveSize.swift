import Foundation
import ParallelGzip

/// How many bytes an archive expands to, read from the size fields fastbackup writes (the `FB`
/// subfield of each gzip member, the `FBZF` skippable frame before each zstd frame) with one
/// `pread` per member and no inflating. Any other archive gives its own size and `exact: false`.
struct ArchiveSize {
    /// The uncompressed size, or the file's size when `exact` is false.
    let bytes: Int64
    /// True when every member carried its uncompressed length.
    let exact: Bool

    /// Scans `path`. Never throws: an unreadable or foreign file falls back to its size.
    static func of(_ path: String) -> ArchiveSize {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return ArchiveSize(bytes: 0, exact: false) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return ArchiveSize(bytes: 0, exact: false) }
        let fileSize = Int64(st.st_size)
        if let total = scan(fd: fd, fileSize: fileSize) { return ArchiveSize(bytes: total, exact: true) }
        return ArchiveSize(bytes: fileSize, exact: false)
    }

    /// Sums the members' stated sizes; nil as soon as one is not ours or does not add up.
    private static func scan(fd: Int32, fileSize: Int64) -> Int64? {
        var buf = [UInt8](repeating: 0, count: 32)
        var offset: Int64 = 0
        var total: Int64 = 0
        while offset < fileSize {
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 32, off_t(offset)) }
            guard n >= 28 else { return nil }
            let step: Int64, size: Int64
            if buf[0] == 0x1f && buf[1] == 0x8b {
                // GzipMemberFormat: FLG = FEXTRA only, XLEN 20, one 'FB' subfield of 16 bytes.
                guard n == 32, buf[2] == 8, buf[3] == 0x04, buf[10] == 20, buf[11] == 0,
                      buf[12] == GzipMemberFormat.subfieldID.0, buf[13] == GzipMemberFormat.subfieldID.1,
                      buf[14] == 16, buf[15] == 0 else { return nil }
                step = le64(buf, 16)
                size = le64(buf, 24)
                guard step >= Int64(GzipMemberFormat.headerLength + GzipMemberFormat.trailerLength) else { return nil }
            } else if le32(buf, 0) == ZstdFrameFormat.skippableMagic {
                guard le32(buf, 4) == 20, Array(buf[8..<12]) == Array("FBZF".utf8) else { return nil }
                let frame = le64(buf, 12)
                guard frame > 0 else { return nil }
                step = Int64(ZstdFrameFormat.prefixLength) + frame
                size = le64(buf, 20)
            } else {
                return nil
            }
            guard step > 0, size >= 0, offset <= fileSize - step else { return nil }
            offset += step
            total += size
            if total < 0 { return nil }
        }
        return offset == fileSize && fileSize > 0 ? total : nil
    }

    private static func le64(_ b: [UInt8], _ at: Int) -> Int64 {
        var v: UInt64 = 0
        for i in (0..<8).reversed() { v = v << 8 | UInt64(b[at + i]) }
        return v > UInt64(Int64.max) ? -1 : Int64(v)
    }

    private static func le32(_ b: [UInt8], _ at: Int) -> UInt32 {
        var v: UInt32 = 0
        for i in (0..<4).reversed() { v = v << 8 | UInt32(b[at + i]) }
        return v
    }
}
