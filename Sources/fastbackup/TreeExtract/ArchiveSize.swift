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

    /// Sums the members' stated sizes (``MemberSizes``); nil as soon as one is not ours or does
    /// not add up.
    private static func scan(fd: Int32, fileSize: Int64) -> Int64? {
        let probe = UnsafeMutableRawBufferPointer.allocate(byteCount: MemberSizes.probeLength, alignment: 8)
        defer { probe.deallocate() }
        var offset: Int64 = 0
        var total: Int64 = 0
        while offset < fileSize {
            let n = pread(fd, probe.baseAddress, probe.count, off_t(offset))
            guard n > 0, let (step, size) = MemberSizes.parse(UnsafeRawBufferPointer(rebasing: probe[0..<n])) else { return nil }
            guard step > 0, offset <= fileSize - Int64(step) else { return nil }
            offset += Int64(step)
            total += Int64(size)
            if total < 0 { return nil }
        }
        return offset == fileSize && fileSize > 0 ? total : nil
    }
}
