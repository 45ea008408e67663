/// Hard-link detection for writers.
///
/// Feed it every file in archive order: the first name seen for a (device, inode) with more
/// than one link is stored as a regular file; every later name for the same inode is
/// returned the first one's name, to be written as a `.hardLink` entry pointing there.
/// A writer that may fail to write a name's body (a file that vanished or turned unreadable)
/// asks with ``target(device:inode:linkCount:)`` and records a name with
/// ``written(device:inode:linkCount:name:)`` only once its body is in the archive, so no link
/// ever points at a name the archive lacks.
/// Memory grows with the number of multiply-linked inodes only (one entry each).
public struct HardLinkTracker {
    private struct FileID: Hashable {
        var device: UInt64
        var inode: UInt64
    }

    private var firstNames: [FileID: TarPath] = [:]

    /// An empty tracker.
    public init() {}

    /// The name written earlier for this inode, if any (nil for a file with a single link).
    public func target(device: UInt64, inode: UInt64, linkCount: UInt64) -> TarPath? {
        guard linkCount > 1 else { return nil }
        return firstNames[FileID(device: device, inode: inode)]
    }

    /// Records `name` as the inode's name in the archive, unless one is recorded already.
    public mutating func written(device: UInt64, inode: UInt64, linkCount: UInt64, name: TarPath) {
        guard linkCount > 1 else { return }
        let id = FileID(device: device, inode: inode)
        if firstNames[id] == nil { firstNames[id] = name }
    }

    /// Returns the earlier name of the same inode (write this entry as a hard link to it), or
    /// nil when this is the first name seen or the file has a single link (write it normally).
    public mutating func linkTarget(device: UInt64, inode: UInt64, linkCount: UInt64, name: TarPath) -> TarPath? {
        guard linkCount > 1 else { return nil }
        let id = FileID(device: device, inode: inode)
        if let first = firstNames[id] { return first }
        firstNames[id] = name
        return nil
    }
}
