import Foundation

/// The mount points the kernel reports in `/proc/self/mountinfo` (field 5 of each line), with
/// its octal escapes (`\040` for a space, `\011`, `\012`, `\134`) undone. A rename cannot move
/// a mount point (EBUSY) nor move anything across one (EXDEV), so a swap must know them.
struct MountTable {
    /// Absolute mount point paths, as bytes.
    let mountPoints: [PathBytes]
    /// Each mount point's file system type (`ext4`, `xfs`, `nfs4`, ...), in the same order; empty
    /// where the line had none.
    let fileSystemTypes: [String]

    /// Reads the current table; an unreadable table (no /proc) gives an empty list.
    static func current() -> MountTable {
        guard let data = FileManager.default.contents(atPath: "/proc/self/mountinfo") else {
            return MountTable(mountPoints: [])
        }
        return MountTable(mountinfo: Array(data))
    }

    /// Parses mountinfo text.
    init(mountinfo: [UInt8]) {
        var points: [PathBytes] = [], types: [String] = []
        for line in mountinfo.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
            guard fields.count > 4 else { continue }
            points.append(MountTable.unescape(Array(fields[4])))
            // The optional fields end at a lone "-"; the file system type follows it.
            if let dash = fields.firstIndex(where: { $0.count == 1 && $0.first == UInt8(ascii: "-") }), dash + 1 < fields.count {
                types.append(String(decoding: fields[dash + 1], as: UTF8.self))
            } else {
                types.append("")
            }
        }
        mountPoints = points
        fileSystemTypes = types
    }

    init(mountPoints: [PathBytes]) {
        self.mountPoints = mountPoints
        fileSystemTypes = mountPoints.map { _ in "" }
    }

    /// The type of the file system that holds `path` (absolute, symlinks resolved): the longest
    /// mount point above it, the last mounted where several share a place.
    func fileSystemType(holding path: PathBytes) -> String? {
        var best: (length: Int, type: String)?
        for (m, type) in zip(mountPoints, fileSystemTypes) {
            let holds = m == [UInt8(ascii: "/")] || path.isAtOrBelow(m)
            if holds && m.count >= (best?.length ?? -1) { best = (m.count, type) }
        }
        return best?.type
    }

    /// Undoes the kernel's `\ooo` escapes.
    static func unescape(_ field: [UInt8]) -> PathBytes {
        var out: PathBytes = []
        var i = 0
        let digits = UInt8(ascii: "0")...UInt8(ascii: "7")
        while i < field.count {
            if field[i] == UInt8(ascii: "\\"), i + 3 < field.count,
               field[(i + 1)..<(i + 4)].allSatisfy({ digits.contains($0) }) {
                let v = field[(i + 1)..<(i + 4)].reduce(0) { $0 * 8 + Int($1 - UInt8(ascii: "0")) }
                if v < 256 { out.append(UInt8(v)); i += 4; continue }
            }
            out.append(field[i])
            i += 1
        }
        return out
    }

    /// The mount points at `path` or below it (`path` absolute, symlinks resolved).
    func mounts(atOrBelow path: PathBytes) -> [PathBytes] {
        mountPoints.filter { m in
            m.isAtOrBelow(path) || (path == [UInt8(ascii: "/")] && m.first == UInt8(ascii: "/"))
        }
    }
}
