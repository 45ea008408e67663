import Foundation
import StreamTar

/// Applies the extracted directories' metadata after everything else, children before parents,
/// opening each directory once, never through a symlink.
///
/// Opening every directory from the base component by component (`openDirectoryNoFollow`) cost
/// depth+1 opens and closes per directory: on the 20,000-file code tree (6,465 folders) a third
/// of a rollback's system calls. Walking the folders in component order with a stack of open
/// descriptors opens each one once, relative to its parent, with `O_NOFOLLOW`. Post-order
/// (a folder's metadata when its last descendant is done) keeps a read-only folder from
/// locking its own children out when not run as root.
///
/// Descriptors held: at most `maxHeld` (the stack's depth); deeper folders are opened from the
/// base as before.
struct DirectoryMetadataWalk {
    var maxHeld = 16

    /// `apply` gets each listed directory's descriptor and header; for a path listed twice the
    /// later header wins, as in tar. Folders that cannot be opened because they are gone or are
    /// not folders (replaced by a symlink) are skipped with everything beneath them; any other
    /// failure (EACCES, EIO) is an error. Out of descriptors (EMFILE, under a low `ulimit -n`),
    /// the walk holds no more and opens each deeper folder from the base when it gets to it.
    func run(_ directories: [(rel: PathBytes, header: TarHeader)], base: PathBytes,
             apply: (Int32, TarHeader, PathBytes) throws -> Void) throws {
        var latest: [PathBytes: TarHeader] = [:]
        for d in directories { latest[d.rel] = d.header }
        let ordered = latest.keys.map { ($0, $0.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true)) }
            .sorted { $0.1.lexicographicallyPrecedes($1.1) { $0.lexicographicallyPrecedes($1) } }

        struct Level { var name: ArraySlice<UInt8>; var rel: PathBytes; var fd: Int32; var header: TarHeader? }
        guard let baseFD = openDirectoryNoFollow(base: base, rel: []) else { return }
        var stack: [Level] = []
        var failure: Error?
        var hold = maxHeld
        func pop() {
            let top = stack.removeLast()
            var fd = top.fd
            if fd < 0, top.header != nil {
                fd = openDirectoryNoFollow(base: base, rel: top.rel) ?? -1
                if fd < 0, !Self.isGone(errno), failure == nil { failure = Self.openError(top.rel, errno) }
            }
            if fd >= 0 {
                if let h = top.header, failure == nil {
                    do { try apply(fd, h, top.rel) } catch { failure = error }
                }
                close(fd)
            }
        }
        defer {
            while !stack.isEmpty { pop() }
            close(baseFD)
        }

        for (rel, components) in ordered {
            if components.isEmpty {
                // The base itself: applied last, after the walk.
                continue
            }
            var common = 0
            while common < stack.count, common < components.count, stack[common].name.elementsEqual(components[common]) {
                common += 1
            }
            while stack.count > common { pop() }
            if let e = failure { throw e }
            for i in common..<components.count {
                let parentFD = stack.last?.fd ?? baseFD
                let childRel = PathBytes(components[0...i].joined(separator: [UInt8(ascii: "/")]))
                var fd: Int32 = -1
                if stack.count < hold && parentFD >= 0 {
                    fd = PathBytes(components[i]).withCPath { openat(parentFD, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
                    if fd < 0 {
                        let err = errno
                        if Self.isGone(err) { break }   // gone or a symlink: skipped, with what is beneath
                        if err != EMFILE && err != ENFILE { failure = Self.openError(childRel, err); break }
                        // Out of descriptors: give back the ones held; every folder from here
                        // on is opened from the base when its turn comes (two at a time).
                        for k in stack.indices where stack[k].fd >= 0 { close(stack[k].fd); stack[k].fd = -1 }
                        hold = 0
                    }
                }
                stack.append(Level(name: components[i], rel: childRel,
                                   fd: fd, header: i == components.count - 1 ? latest[rel] : nil))
            }
        }
        while !stack.isEmpty { pop() }
        if let e = failure { throw e }
        if let h = latest[[]] { try apply(baseFD, h, []) }
    }

    private static func isGone(_ err: Int32) -> Bool { err == ENOENT || err == ELOOP || err == ENOTDIR }

    private static func openError(_ rel: PathBytes, _ err: Int32) -> Error {
        TreeError("Cannot open the restored folder \(rel.displayString) to set its mode and times: \(String(cString: strerror(err)))")
    }
}
