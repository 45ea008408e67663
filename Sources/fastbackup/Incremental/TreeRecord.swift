import Foundation

/// What a tree backup records about the whole tree it walked, so that the next backup can
/// store only what changed and a rollback can put the tree back exactly, deletions included.
///
/// Stored as the archive's last tar entry, `var/.fastbackup/record.txt` (`var` is never part
/// of a backed-up tree, so `tar -xzf` only drops this text file there), and found through the
/// archive index (ArchiveIndex's `record` line, which also carries the body's SHA-256). Text:
///
///     fastbackup-record 1
///     kind media
///     created 2026-12-08T02:00:00Z
///     self 1765159200_filesystem_media.incr.tgz
///     link 1765072800_filesystem_media.tgz <sha256 of that backup's record>
///     entries
///     <holder> <type> <mode> <size> <mtime> <ctime> <inode> <path>
///
/// `link` lines name the chain this backup continues, oldest (the full backup) first; holder
/// `i` is the i-th link and holder `links.count` is this archive. One entry line per walked
/// path, in walk order (WalkOrder), relative to the tree's base (`pub/media` for media), with
/// `%XX` escapes (PercentEscaping): `type` is f, d, l, p, c or b, `mode` octal permission bits,
/// times `seconds.nanoseconds`. Folders, symlinks and multiply-linked files are archived every
/// time (they are small, and a hard link must sit in the archive of its target), so only
/// single-link regular files are ever held by an older link.
enum TreeRecord {
    static let archivePath = "var/.fastbackup/record.txt"
    static let magic = "fastbackup-record 1"

    struct Link: Equatable, Codable {
        var name: String
        var sha256: String
    }

    struct Header: Equatable {
        var kind: BackupKind
        var created: String
        /// This archive's own file name, as written.
        var name: String
        /// The backups this one builds on, oldest first; empty for a full backup.
        var links: [Link]

        /// The holder number of this archive's own entries.
        var selfHolder: Int { links.count }

        func encoded() -> [UInt8] {
            var text = "\(TreeRecord.magic)\nkind \(kind.rawValue)\ncreated \(created)\nself \(name)\n"
            for l in links { text += "link \(l.name) \(l.sha256)\n" }
            text += "entries\n"
            return Array(text.utf8)
        }
    }

    struct Line: Equatable {
        var holder: Int
        /// One of f d l p c b.
        var type: UInt8
        var mode: UInt32
        var size: Int64
        var mtime: timespec
        var ctime: timespec
        var inode: UInt64
        var path: PathBytes

        init(path: PathBytes, info st: stat, holder: Int) {
            self.path = path
            self.holder = holder
            type = TreeRecord.typeLetter(st.st_mode)
            mode = UInt32(st.st_mode & 0o7777)
            size = (st.st_mode & S_IFMT) == S_IFREG ? Int64(st.st_size) : 0
            mtime = st.st_mtim
            ctime = st.st_ctim
            inode = UInt64(st.st_ino)
        }

        /// Whether `st` shows the file as this line recorded it: the same single-link regular
        /// file, not written to (size, mtime) nor touched in any other way (ctime, inode).
        func unchanged(_ st: stat) -> Bool {
            type == UInt8(ascii: "f") && (st.st_mode & S_IFMT) == S_IFREG && st.st_nlink == 1
                && size == Int64(st.st_size) && inode == UInt64(st.st_ino)
                && mtime.tv_sec == st.st_mtim.tv_sec && mtime.tv_nsec == st.st_mtim.tv_nsec
                && ctime.tv_sec == st.st_ctim.tv_sec && ctime.tv_nsec == st.st_ctim.tv_nsec
        }

        static func == (a: Line, b: Line) -> Bool {
            a.holder == b.holder && a.type == b.type && a.mode == b.mode && a.size == b.size && a.inode == b.inode
                && a.path == b.path && a.mtime.tv_sec == b.mtime.tv_sec && a.mtime.tv_nsec == b.mtime.tv_nsec
                && a.ctime.tv_sec == b.ctime.tv_sec && a.ctime.tv_nsec == b.ctime.tv_nsec
        }

        func encode(into out: inout [UInt8]) {
            out += Array("\(holder) ".utf8)
            out.append(type)
            out += Array(" \(String(mode, radix: 8)) \(size) \(mtime.tv_sec).\(nanos(mtime)) \(ctime.tv_sec).\(nanos(ctime)) \(inode) ".utf8)
            PercentEscaping.escape(path, into: &out)
            out.append(UInt8(ascii: "\n"))
        }

        private func nanos(_ t: timespec) -> String {
            let s = String(t.tv_nsec)
            return String(repeating: "0", count: max(0, 9 - s.count)) + s
        }

        /// One line without its newline; nil when it is not an entry line.
        static func parse(_ line: ArraySlice<UInt8>) -> Line? {
            var fields: [ArraySlice<UInt8>] = []
            var start = line.startIndex
            for i in line.indices where line[i] == UInt8(ascii: " ") && fields.count < 7 {
                fields.append(line[start..<i])
                start = i + 1
            }
            fields.append(line[start...])
            guard fields.count == 8, fields[1].count == 1, "fdlpcb".utf8.contains(fields[1].first!),
                  let holder = Int(ascii(fields[0])), holder >= 0,
                  let mode = UInt32(ascii(fields[2]), radix: 8),
                  let size = Int64(ascii(fields[3])), size >= 0,
                  let mtime = time(fields[4]), let ctime = time(fields[5]),
                  let inode = UInt64(ascii(fields[6])),
                  let path = PercentEscaping.unescaped(fields[7]), !path.isEmpty else { return nil }
            var st = stat()
            st.st_mode = 0
            var l = Line(path: path, info: st, holder: holder)
            l.type = fields[1].first!
            l.mode = mode
            l.size = size
            l.mtime = mtime
            l.ctime = ctime
            l.inode = inode
            return l
        }

        private static func ascii(_ s: ArraySlice<UInt8>) -> String { String(decoding: s, as: UTF8.self) }

        private static func time(_ s: ArraySlice<UInt8>) -> timespec? {
            guard let dot = s.firstIndex(of: UInt8(ascii: ".")), let sec = Int(ascii(s[..<dot])),
                  s.endIndex - dot == 10, let nsec = Int(ascii(s[(dot + 1)...])) else { return nil }
            return timespec(tv_sec: sec, tv_nsec: nsec)
        }
    }

    static func typeLetter(_ mode: mode_t) -> UInt8 {
        switch mode & S_IFMT {
        case S_IFDIR: return UInt8(ascii: "d")
        case S_IFLNK: return UInt8(ascii: "l")
        case S_IFIFO: return UInt8(ascii: "p")
        case S_IFCHR: return UInt8(ascii: "c")
        case S_IFBLK: return UInt8(ascii: "b")
        default: return UInt8(ascii: "f")
        }
    }

    /// Reads the header lines (up to and including `entries`); nil when they are not a record's.
    static func parseHeader(_ lines: [Substring]) -> Header? {
        guard lines.first == Substring(magic), lines.last == "entries" else { return nil }
        var kind: BackupKind?, created: String?, name: String?
        var links: [Link] = []
        for line in lines.dropFirst().dropLast() {
            let f = line.split(separator: " ", omittingEmptySubsequences: false)
            switch (f.first, f.count) {
            case ("kind"?, 2): kind = BackupKind(rawValue: String(f[1]))
            case ("created"?, 2): created = String(f[1])
            case ("self"?, 2): name = String(f[1])
            case ("link"?, 3):
                guard f[2].count == 64, !f[1].isEmpty, !f[1].contains("/") else { return nil }
                links.append(Link(name: String(f[1]), sha256: String(f[2])))
            default: return nil
            }
        }
        guard let kind, kind != .db, let created, let name else { return nil }
        return Header(kind: kind, created: created, name: name, links: links)
    }
}
