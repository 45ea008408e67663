import Foundation

/// An upper bound on a tree's archive size read from its file system's counters, so that the
/// space check needs no walk of its own when the answer is plain.
///
/// A tree's file bytes cannot exceed the bytes its file system has in use, and its entries its
/// used inodes; each entry costs at most 1,024 bytes of tar header and padding. So when the
/// whole file system's used bytes plus 1 KiB per used inode fit in the destination's free
/// space, the tree does. Trusted only where that reasoning holds: ext2/3/4, xfs and tmpfs (no
/// transparent compression, which would make used bytes smaller than file sizes), and no other
/// file system mounted below the tree. A sparse file is the one case it misses (its size can
/// exceed its blocks); the backup then fails at the full disk as before the check existed, and
/// removes its temporary file.
struct SpaceBound {
    /// The most the archive can need.
    let neededAtMost: Int
    /// Free bytes at the destination for an unprivileged writer.
    let available: Int

    var fits: Bool { neededAtMost <= available }

    var summary: String {
        "the tree's file system holds at most \(formatBytes(Int64(neededAtMost))) with tar headers, \(formatBytes(Int64(available))) free at the destination: "
            + (fits ? "fits, no sizing pass" : "sizing the tree")
    }

    /// The bound for `tree` (absolute, symlinks resolved) written to `destination`, or nil when
    /// the counters cannot vouch for it.
    static func fromFileSystems(tree: PathBytes, destination: String, mounts: MountTable = .current()) -> SpaceBound? {
        guard mounts.mounts(atOrBelow: tree).allSatisfy({ $0 == tree }),
              let type = mounts.fileSystemType(holding: tree), trustedTypes.contains(type) else { return nil }
        var fs = statvfs()
        guard tree.withCPath({ statvfs($0, &fs) }) == 0, let available = freeBytes(at: destination) else { return nil }
        let usedBytes = (Int(fs.f_blocks) - Int(fs.f_bfree)) * Int(fs.f_frsize)
        let usedInodes = max(0, Int(fs.f_files) - Int(fs.f_ffree))
        return SpaceBound(neededAtMost: usedBytes + usedInodes * 1024, available: available)
    }

    /// Bytes an unprivileged writer can still put in the file system holding `path`.
    static func freeBytes(at path: String) -> Int? {
        var fs = statvfs()
        guard statvfs(path, &fs) == 0 else { return nil }
        return Int(fs.f_bavail) * Int(fs.f_frsize)
    }

    private static let trustedTypes: Set<String> = ["ext2", "ext3", "ext4", "xfs", "tmpfs"]
}
