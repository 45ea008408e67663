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
/// it (older, or another tool's) is read whole.
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
    private static let tailPrefix = "fastbackup-index-end "

    private(set) var marks: [Mark] = []
    private var next: Int64 = 0

    init(stride: Int) { self.stride = Int64(max(stride, 1)) }

    /// An entry written at `offset` (``StreamTar/TarWriter/entryObserver``).
    mutating func note(offset: Int64, name: PathBytes) {
        guard offset >= next else { return }
        marks.append(Mark(offset: offset, path: Self.trimmed(name)))
        next = (offset / stride + 1) * stride
    }

    func encoded() -> [UInt8] {
        var out = Array(Self.head.utf8)
        for m in marks {
            out += Array(String(m.offset).utf8) + [UInt8(ascii: " ")] + Self.escaped(m.path) + [UInt8(ascii: "\n")]
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
        guard text.starts(with: Array(head.utf8)) else { return .absent }
        var index = ArchiveIndex(stride: 1)
        for line in text.dropFirst(head.utf8.count).split(separator: UInt8(ascii: "\n")) {
            guard let space = line.firstIndex(of: UInt8(ascii: " ")),
                  let offset = Int64(String(decoding: line[..<space], as: UTF8.self)),
                  let path = unescaped(line[(space + 1)...]) else { return .absent }
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

    private static func escaped(_ path: PathBytes) -> [UInt8] {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in path {
            if b > 0x20 && b < 0x7F && b != UInt8(ascii: "%") { out.append(b) } else {
                out += [UInt8(ascii: "%"), digits[Int(b >> 4)], digits[Int(b & 15)]]
            }
        }
        return out
    }

    private static func unescaped(_ text: ArraySlice<UInt8>) -> PathBytes? {
        var out: PathBytes = []
        var i = text.startIndex
        while i < text.endIndex {
            if text[i] == UInt8(ascii: "%") {
                guard i + 2 < text.endIndex, let v = UInt8(String(decoding: text[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) else { return nil }
                out.append(v)
                i += 3
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }
}
