import Foundation

/// File names are bytes on Linux and need not be UTF-8; the walker and extractor keep them
/// as bytes so that every name survives a backup and a rollback unchanged.
typealias PathBytes = [UInt8]

extension Array where Element == UInt8 {
    init(path: String) { self = Array(path.utf8) }

    /// Joins two paths with one slash (either side may be empty).
    func appendingComponent(_ name: PathBytes) -> PathBytes {
        if isEmpty { return name }
        if name.isEmpty { return self }
        return self + [UInt8(ascii: "/")] + name
    }

    /// Whether this path lies strictly below `ancestor`, component-wise (`a/bc` is not below
    /// `a/b`). The one "is this path below that one" of the tree code.
    func isBelow(_ ancestor: PathBytes) -> Bool {
        count > ancestor.count && starts(with: ancestor) && self[ancestor.count] == UInt8(ascii: "/")
    }

    /// The same path as `ancestor` or one below it.
    func isAtOrBelow(_ ancestor: PathBytes) -> Bool { self == ancestor || isBelow(ancestor) }

    /// What is left of this path below `ancestor`: empty for the same path, nil when it is not
    /// at or below it.
    func relative(to ancestor: PathBytes) -> PathBytes? {
        if self == ancestor { return [] }
        return isBelow(ancestor) ? Array(self[(ancestor.count + 1)...]) : nil
    }

    /// Calls `body` with a NUL-terminated copy, for the C file APIs.
    /// Typed throws, so that a call throwing `Errno` stays `Errno` through it.
    func withCPath<T, E: Error>(_ body: (UnsafePointer<CChar>) throws(E) -> T) throws(E) -> T {
        var copy = self
        copy.append(0)
        let result: Result<T, E> = copy.withUnsafeBufferPointer { buf in
            buf.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buf.count) { p in
                do throws(E) { return .success(try body(p)) } catch { return .failure(error) }
            }
        }
        return try result.get()
    }

    /// For messages: the bytes as UTF-8 with invalid sequences repaired.
    var displayString: String { String(decoding: self, as: UTF8.self) }
}

/// A path as a set or dictionary key. An array of bytes hashes element by element (a
/// `Hasher.combine` call per byte); this hashes the whole run at once, which matters on the
/// extractor's main thread that looks up several paths for each of tens of thousands of entries.
struct PathKey: Hashable {
    let bytes: PathBytes
    /// The bytes hashed once: a restore looks each name up, inserts and removes it (and a
    /// set's removal rehashes the entries after it), so hashing whole paths every time cost
    /// 2.7% of a cache-media rollback's CPU.
    private let digest: Int
    init(_ bytes: PathBytes) {
        self.bytes = bytes
        var h = Hasher()
        bytes.withUnsafeBytes { h.combine(bytes: $0) }
        digest = h.finalize()
    }
    static func == (a: PathKey, b: PathKey) -> Bool { a.digest == b.digest && a.bytes == b.bytes }
    func hash(into hasher: inout Hasher) { hasher.combine(digest) }
}

/// Linux's UTIME_OMIT ((1 << 30) - 2), a macro Swift does not import.
private let utimeOmit = (1 << 30) - 2

/// Sets a path's mtime (not following a symlink) and leaves its atime alone.
@discardableResult
func setModificationTime(_ path: PathBytes, _ mtime: timespec) -> Bool {
    var times = [timespec(tv_sec: 0, tv_nsec: utimeOmit), mtime]
    return path.withCPath { utimensat(AT_FDCWD, $0, &times, AT_SYMLINK_NOFOLLOW) } == 0
}

/// The name in a directory entry, as bytes.
func entryName(_ entry: UnsafeMutablePointer<dirent>) -> PathBytes {
    withUnsafeBytes(of: entry.pointee.d_name) { raw in
        let bytes = raw.bindMemory(to: UInt8.self)
        return Array(bytes[0..<(bytes.firstIndex(of: 0) ?? bytes.count)])
    }
}

/// Opens `base/rel` as a directory, one component at a time with O_NOFOLLOW, so that no symlink
/// anywhere below `base` is followed. Nil if any component is missing or not a directory.
func openDirectoryNoFollow(base: PathBytes, rel: PathBytes) -> Int32? {
    var fd = base.withCPath { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    guard fd >= 0 else { return nil }
    for component in rel.split(separator: UInt8(ascii: "/")) {
        let next = PathBytes(component).withCPath { openat(fd, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        let err = errno
        close(fd)
        // errno kept for the caller, which tells a folder that is gone from a lack of descriptors.
        guard next >= 0 else { errno = err; return nil }
        fd = next
    }
    return fd
}
