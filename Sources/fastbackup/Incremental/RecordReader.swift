import Foundation
import ObjectStore
import ParallelGzip
import StreamTar

/// Why an archive's tree record cannot be used.
struct RecordError: Error, CustomStringConvertible {
    enum Kind { case absent, damaged }
    let kind: Kind
    let archive: String
    let reason: String
    var description: String { "\(archive): \(reason)" }
}

/// Streams the tree record of a local fastbackup archive, line by line, from the member that
/// holds its tar header to the end: memory is one read buffer, whatever the tree's size. At
/// the end the body's length and SHA-256 must be those the index gives, or ``next()`` throws.
final class RecordReader {
    let archive: String
    private(set) var header = TreeRecord.Header(kind: .media, created: "", name: "", links: [])
    let location: ArchiveIndex.RecordLocation
    /// The archive's members and index, as read to find the record.
    let index: ArchiveIndex
    let members: [ArchiveIndex.Member]

    private let fd: Int32
    private let tar: TarReader
    private let hash = SHA256Stream()
    private var buffer = [UInt8](repeating: 0, count: 256 << 10)
    private var pending: [UInt8] = []
    /// Where the unread part of `pending` starts.
    private var cursor = 0
    private var consumed: Int64 = 0
    private var ended = false

    /// Opens `archive`'s record and reads its header lines. Throws ``RecordError`` `.absent`
    /// for an archive without one (older, another tool's, zstd) and `.damaged` otherwise.
    convenience init(archive: String) throws {
        guard let (index, members) = ArchiveIndex.read(archive: archive) else {
            throw RecordError(kind: .absent, archive: archive, reason: "no archive index (not a fastbackup .tgz, or an older one)")
        }
        try self.init(archive: archive, index: index, members: members)
    }

    /// The same record again from its first line, without reading every member's sizes again
    /// (a chain's rollback reads the newest record once per archive of the chain).
    func reopened() throws -> RecordReader { try RecordReader(archive: archive, index: index, members: members) }

    private init(archive: String, index: ArchiveIndex, members: [ArchiveIndex.Member]) throws {
        self.archive = archive
        guard let location = index.record else {
            throw RecordError(kind: .absent, archive: archive, reason: "no tree record (written by an older fastbackup)")
        }
        self.index = index
        self.members = members
        self.location = location
        guard let member = members.last(where: { $0.streamOffset <= location.offset }),
              location.offset < member.streamOffset + member.length else {
            throw RecordError(kind: .damaged, archive: archive, reason: "its index puts the tree record at stream offset \(location.offset), past the archive's end")
        }
        fd = open(archive, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw RecordError(kind: .damaged, archive: archive, reason: "cannot open: \(String(cString: strerror(errno)))")
        }
        do {
            let source = try MemberByMemberReader(fd: fd, path: archive, memberAt: member.fileOffset)
            let skip = location.offset - member.streamOffset
            guard try source.skip(skip) == skip else {
                throw RecordError(kind: .damaged, archive: archive, reason: "the stream ends before the tree record")
            }
            tar = TarReader(source: source)
            guard let h = try tar.next(), h.name.description == TreeRecord.archivePath, h.kind == .regular,
                  h.size == location.length else {
                throw RecordError(kind: .damaged, archive: archive, reason: "no tree record entry at stream offset \(location.offset), where its index puts it")
            }
            var headerLines: [Substring] = []
            while headerLines.last != "entries" {
                guard headerLines.count < 10_000, let line = try nextLine() else {
                    throw RecordError(kind: .damaged, archive: archive, reason: "the tree record's header is cut short")
                }
                headerLines.append(Substring(String(decoding: pending[line], as: UTF8.self)))
            }
            guard let header = TreeRecord.parseHeader(headerLines) else {
                throw RecordError(kind: .damaged, archive: archive, reason: "the tree record's header does not parse")
            }
            self.header = header
        } catch {
            close(fd)
            if error is RecordError { throw error }
            throw RecordError(kind: .damaged, archive: archive, reason: "cannot read the tree record: \(error)")
        }
    }

    deinit { close(fd) }

    /// The next entry line; nil after the last, once the body's length and hash were checked.
    func next() throws -> TreeRecord.Line? {
        guard let line = try nextLine() else { return nil }
        guard let parsed = TreeRecord.Line.parse(pending[line]), parsed.holder <= header.selfHolder else {
            throw RecordError(kind: .damaged, archive: archive, reason: "the tree record's line \"\(String(decoding: pending[line].prefix(200), as: UTF8.self))\" does not parse")
        }
        return parsed
    }

    /// Reads every remaining line, checking them and the hash.
    func drain() throws { while try next() != nil {} }

    /// Where the next line is in `pending` (valid until the next call).
    private func nextLine() throws -> Range<Int>? {
        while true {
            if let nl = pending[cursor...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = cursor..<nl
                cursor = nl + 1
                return line
            }
            if ended {
                guard cursor == pending.count else {
                    throw RecordError(kind: .damaged, archive: archive, reason: "the tree record ends inside a line")
                }
                return nil
            }
            let n: Int
            do {
                n = try buffer.withUnsafeMutableBytes { try tar.readBody(into: $0) }
            } catch {
                throw RecordError(kind: .damaged, archive: archive, reason: "cannot read the tree record: \(error)")
            }
            if n == 0 {
                ended = true
                let sha = hash.finishHex()
                guard consumed == location.length, sha == location.sha256 else {
                    throw RecordError(kind: .damaged, archive: archive, reason: "the tree record's SHA-256 is \(sha), not \(location.sha256) as its index says: the record or the index is damaged")
                }
                continue
            }
            buffer.withUnsafeBytes { hash.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            consumed += Int64(n)
            pending.removeFirst(cursor)
            cursor = 0
            pending += buffer[0..<n]
        }
    }
}
