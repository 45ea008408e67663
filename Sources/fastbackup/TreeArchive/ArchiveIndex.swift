import Foundation
import ParallelGzip
import SystemCalls

/// A sparse index of a tree archive, so that a partial restore reads only the members around
/// the paths it wants.
///
/// The walk writes entries in sorted depth-first order (names compared byte by byte, folder by
/// folder), so the entries of one path's subtree are contiguous. The index keeps one mark per
/// `stride` bytes of the tar stream: the first entry starting at or after each multiple, with
/// its stream offset and name. To read a path, start at the last mark that sorts at or before
/// it and stop at the first entry that sorts after its subtree. Memory: one name per
/// compression chunk (about 250 for a 1 GB media tree in 4 MiB chunks).
///
/// Where it lives: after the tar stream's end-of-archive blocks, as the last bytes of the
/// compressed stream (GNU tar, bsdtar, 7-Zip and Python's tarfile stop at the end-of-archive
/// blocks and ignore it; `gzip -t` sees ordinary members). Its text:
/// `fastbackup-index 1\n`, one `<offset> <name>\n` per mark (bytes outside `!`..`~` and `%`
/// written `%XX`), then `fastbackup-index-end <bytes before this line>\n`. An archive without
/// it (older, or another tool's) is read whole. Version 2 adds, after its first line,
/// `record <offset> <length> <sha256>`: where the tree record's tar header starts in the
/// stream, its body's length and hash (see TreeRecord), so the record is found, and a chain's
/// links checked, by reading the archive's last member or two.
struct ArchiveIndex {
    struct Mark: Equatable {
        let offset: Int64
        let path: PathBytes
    }

    /// Bytes of tar stream between marks: the compression chunk size, so each member holds
    /// about one mark and a path's entry is read from its own member (and the next, when its
    /// body or the following header runs on).
    let stride: Int64
    private static let head = "fastbackup-index 1\n"
    private static let headWithRecord = "fastbackup-index 2\n"
    private static let recordPrefix = "record "

    /// Where the tree record is: the stream offset of its tar header, its body's length and
    /// SHA-256 (hex).
    struct RecordLocation: Equatable {
        var offset: Int64
        var length: Int64
        var sha256: String
    }
    private static let tailPrefix = "fastbackup-index-end "

    private(set) var marks: [Mark] = []
    var record: RecordLocation?
    private var next: Int64 = 0

    init(stride: Int) { self.stride = Int64(max(stride, 1)) }

    /// An entry written at `offset` (``StreamTar/TarWriter/entryObserver``).
    mutating func note(offset: Int64, name: PathBytes) {
        guard offset >= next else { return }
        marks.append(Mark(offset: offset, path: Self.trimmed(name)))
        next = (offset / stride + 1) * stride
    }

    func encoded() -> [UInt8] {
        var out = Array((record == nil ? Self.head : Self.headWithRecord).utf8)
        if let r = record { out += Array("\(Self.recordPrefix)\(r.offset) \(r.length) \(r.sha256)\n".utf8) }
        for m in marks {
            out += Array(String(m.offset).utf8) + [UInt8(ascii: " ")] + PercentEscaping.escaped(m.path) + [UInt8(ascii: "\n")]
        }
        out += Array("\(Self.tailPrefix)\(out.count)\n".utf8)
        return out
    }

    /// The stream offset to start reading at for `path` (root-relative, no trailing `/`): the
    /// last mark that sorts at or before it; nil when the index has no mark there.
    func start(for path: PathBytes) -> Int64? {
        var best: Int64?
        for m in marks where Self.order(m.path, path) <= 0 { best = m.offset }
        return best
    }

    /// Whether an entry named `name` comes after everything of `path`'s subtree.
    static func isPast(_ name: PathBytes, subtreeOf path: PathBytes) -> Bool {
        let n = trimmed(name)
        return !n.isAtOrBelow(path) && order(n, path) > 0
    }

    /// Depth-first order: component by component, each compared as bytes.
    static func order(_ a: PathBytes, _ b: PathBytes) -> Int {
        let ca = a.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
        let cb = b.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)
        for (x, y) in zip(ca, cb) where !x.elementsEqual(y) {
            return x.lexicographicallyPrecedes(y) ? -1 : 1
        }
        return ca.count == cb.count ? 0 : (ca.count < cb.count ? -1 : 1)
    }

    // MARK: - Reading it back

    /// One gzip member: where it starts in the file and in the decompressed stream.
    struct Member {
        let fileOffset: Int64
        let streamOffset: Int64
        let length: Int64
    }

    /// The members of a local fastbackup archive (each carries its sizes) and its index; nil
    /// for an archive without sized members (another tool's) or without an index.
    static func read(archive path: String) -> (index: ArchiveIndex, members: [Member])? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var members: [Member] = []
        var fileOffset: Int64 = 0, streamOffset: Int64 = 0
        var probe = [UInt8](repeating: 0, count: MemberSizes.probeLength)
        while true {
            let n = probe.withUnsafeMutableBytes { (try? FileDescriptor(rawValue: fd).read(into: $0, at: fileOffset)) ?? -1 }
            if n == 0 { break }
            guard n > 0, let sizes = probe.withUnsafeBytes({ MemberSizes.parse(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }) else { return nil }
            members.append(Member(fileOffset: fileOffset, streamOffset: streamOffset, length: Int64(sizes.uncompressedLength)))
            fileOffset += Int64(sizes.memberLength)
            streamOffset += Int64(sizes.uncompressedLength)
        }
        // The index is at the end: inflate the last members until the whole of it is there.
        var first = members.count - 1
        while first >= 0 {
            guard let tail = inflate(fd: fd, path: path, from: members[first].fileOffset) else { return nil }
            switch decode(tail: tail) {
            case .found(let index): return (index, members)
            case .needMore: first -= 1
            case .absent: return nil
            }
        }
        return nil
    }

    private enum Decoded { case found(ArchiveIndex), needMore, absent }

    private static func decode(tail: [UInt8]) -> Decoded {
        // The last line: `fastbackup-index-end N`.
        guard tail.last == UInt8(ascii: "\n") else { return .absent }
        let body = tail.dropLast()
        let lineStart = body.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? body.startIndex
        let last = String(decoding: body[lineStart...], as: UTF8.self)
        guard last.hasPrefix(tailPrefix), let length = Int(last.dropFirst(tailPrefix.count)) else { return .absent }
        guard lineStart - tail.startIndex >= length else { return .needMore }
        let text = tail[(lineStart - length)..<lineStart]
        var index = ArchiveIndex(stride: 1)
        var lines: ArraySlice<UInt8>
        if text.starts(with: Array(head.utf8)) {
            lines = text.dropFirst(head.utf8.count)
        } else if text.starts(with: Array(headWithRecord.utf8)) {
            lines = text.dropFirst(headWithRecord.utf8.count)
            guard let end = lines.firstIndex(of: UInt8(ascii: "\n")) else { return .absent }
            let fields = String(decoding: lines[..<end], as: UTF8.self).split(separator: " ")
            guard fields.count == 4, fields[0] == "record", let offset = Int64(fields[1]), let length = Int64(fields[2]),
                  fields[3].count == 64 else { return .absent }
            index.record = RecordLocation(offset: offset, length: length, sha256: String(fields[3]))
            lines = lines[(end + 1)...]
        } else {
            return .absent
        }
        for line in lines.split(separator: UInt8(ascii: "\n")) {
            guard let space = line.firstIndex(of: UInt8(ascii: " ")),
                  let offset = Int64(String(decoding: line[..<space], as: UTF8.self)),
                  let path = PercentEscaping.unescaped(line[(space + 1)...]) else { return .absent }
            index.marks.append(Mark(offset: offset, path: path))
        }
        return .found(index)
    }

    /// The decompressed stream from the member at `offset` to the end (the last member or
    /// two: a few MiB), member by member as a partial restore then reads the archive: an
    /// archive that reader cannot read (zstd frames) has no usable index.
    private static func inflate(fd: Int32, path: String, from offset: Int64) -> [UInt8]? {
        guard let reader = try? MemberByMemberReader(fd: fd, path: path, memberAt: offset) else { return nil }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            guard let n = try? buffer.withUnsafeMutableBytes({ try reader.read(into: $0) }) else { return nil }
            if n == 0 { return out }
            out += buffer[0..<n]
            if out.count > 64 << 20 { return nil }
        }
    }

    private static func trimmed(_ name: PathBytes) -> PathBytes {
        var n = name
        while n.count > 1, n.last == UInt8(ascii: "/") { n.removeLast() }
        return n
    }
}
