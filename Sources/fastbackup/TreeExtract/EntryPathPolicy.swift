import Foundation

/// Why an archive is refused as a whole before anything live is touched.
struct UnsafeArchiveError: Error, CustomStringConvertible {
    let entry: String
    let reason: String
    var description: String { "The archive is refused: entry '\(entry)' \(reason). Nothing was changed." }
}

/// Checks entry names before anything is written, and remembers the symlinks the archive has
/// created so far so that no later entry is written through one.
struct EntryPathPolicy {
    private var symlinks = Set<PathKey>()

    /// Normalises a name (drops `./` and trailing slashes) and refuses absolute paths, `..` and
    /// NUL bytes. Returns nil for names that are empty once normalised (the archive's `./`).
    func normalise(_ raw: PathBytes) throws -> PathBytes? {
        let slash = UInt8(ascii: "/")
        if raw.first == slash { throw UnsafeArchiveError(entry: raw.displayString, reason: "has an absolute path") }
        try Self.checkNoNUL(raw, entry: raw)
        if Self.isNormal(raw[...]) { return raw }
        if raw.count > 1, raw.last == slash, Self.isNormal(raw.dropLast()) { return Array(raw.dropLast()) }   // a folder's name
        var parts: [ArraySlice<UInt8>] = []
        for part in raw.split(separator: slash, omittingEmptySubsequences: true) {
            if part.elementsEqual([UInt8(ascii: ".")]) { continue }
            if part.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                throw UnsafeArchiveError(entry: raw.displayString, reason: "has a '..' component")
            }
            parts.append(part)
        }
        if parts.isEmpty { return nil }
        return Array(parts.joined(separator: [slash]))
    }

    /// A pax `path` or `linkpath` record may hold any byte, but the C calls end a name at its
    /// first NUL: `..\0x` would pass the `..` check and then open `..`.
    static func checkNoNUL(_ name: PathBytes, entry: PathBytes) throws {
        if name.contains(0) {
            throw UnsafeArchiveError(entry: entry.displayString, reason: "has a NUL byte in its name or link target")
        }
    }

    /// True when no component is empty, `.` or `..` (most names in most archives): the name
    /// is already what ``normalise(_:)`` would make of it.
    private static func isNormal(_ raw: ArraySlice<UInt8>) -> Bool {
        let slash = UInt8(ascii: "/"), dot = UInt8(ascii: ".")
        return raw.withUnsafeBufferPointer { p in
            var start = 0
            for i in 0...p.count {
                guard i == p.count || p[i] == slash else { continue }
                let n = i - start
                if n == 0 || (n == 1 && p[start] == dot) || (n == 2 && p[start] == dot && p[start + 1] == dot) { return false }
                start = i + 1
            }
            return true
        }
    }

    /// Refuses a path whose parent, or any ancestor, is a symlink the archive created.
    func checkNotThroughSymlink(_ path: PathBytes, entry: PathBytes) throws {
        guard !symlinks.isEmpty else { return }
        var i = path.count - 1
        while i > 0 {
            if path[i] == UInt8(ascii: "/"), symlinks.contains(PathKey(Array(path[0..<i]))) {
                throw UnsafeArchiveError(entry: entry.displayString, reason: "would be written through the symlink '\(Array(path[0..<i]).displayString)'")
            }
            i -= 1
        }
    }

    mutating func recordSymlink(_ path: PathBytes) { symlinks.insert(PathKey(path)) }

    /// A later entry of the same name replaces a symlink (GNU tar replaces too).
    mutating func forget(_ path: PathBytes) { symlinks.remove(PathKey(path)) }
}
