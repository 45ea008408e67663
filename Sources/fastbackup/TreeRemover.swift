import Foundation

/// Removes a tree without following symlinks, working on name bytes so that names which are
/// not UTF-8 go too. Errors other than "already gone" are returned, not thrown, so clean-up
/// paths can report and carry on.
///
/// It never crosses a filesystem boundary: a folder on another device than the tree's top (a
/// volume mounted inside what is being removed) is left alone with a warning, so removing a
/// set-aside tree can never empty a mounted volume. The folder holding it then stays too.
enum TreeRemover {
    @discardableResult
    static func remove(_ path: PathBytes) -> Int32? {
        var st = stat()
        guard path.withCPath({ lstat($0, &st) }) == 0 else { return errno == ENOENT ? nil : errno }
        if (st.st_mode & S_IFMT) != S_IFDIR {
            return path.withCPath { unlink($0) } == 0 || errno == ENOENT ? nil : errno
        }
        let parent = path.withCPath { open($0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard parent >= 0 else { return errno }
        var top = stat()
        guard fstat(parent, &top) == 0 else { let e = errno; close(parent); return e }
        if top.st_dev != st.st_dev {
            close(parent)
            return EXDEV
        }
        let err = removeContents(of: parent, path: path, device: top.st_dev)
        close(parent)
        if let err { return err }
        return path.withCPath { rmdir($0) } == 0 || errno == ENOENT ? nil : errno
    }

    /// Empties the directory open at `dirfd` (one descriptor per level of depth), leaving
    /// folders on another device than `device` in place.
    private static func removeContents(of dirfd: Int32, path: PathBytes, device: dev_t) -> Int32? {
        let dup = dup(dirfd)
        guard dup >= 0, let dir = fdopendir(dup) else { return errno }
        defer { closedir(dir) }
        var names: [PathBytes] = []
        while let ent = readdir(dir) {
            let name = entryName(ent)
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            names.append(name)
        }
        var kept: Int32? = nil
        for name in names {
            var st = stat()
            if name.withCPath({ fstatat(dirfd, $0, &st, AT_SYMLINK_NOFOLLOW) }) != 0 {
                if errno == ENOENT { continue }
                return errno
            }
            if st.st_dev != device {
                Console.warning("left \(path.appendingComponent(name).displayString) alone: it is on another filesystem (a mount point)")
                kept = EBUSY
                continue
            }
            if (st.st_mode & S_IFMT) != S_IFDIR {
                if name.withCPath({ unlinkat(dirfd, $0, 0) }) == 0 || errno == ENOENT { continue }
                return errno
            }
            let child = name.withCPath { openat(dirfd, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            guard child >= 0 else { return errno }
            var opened = stat()
            // The entry could have been swapped (for a mount point) between fstatat and openat.
            guard fstat(child, &opened) == 0, opened.st_dev == device, opened.st_ino == st.st_ino else {
                close(child)
                Console.warning("left \(path.appendingComponent(name).displayString) alone: it changed while being removed")
                kept = EBUSY
                continue
            }
            // A directory without write permission cannot be emptied; we created it, so fix it.
            fchmod(child, 0o700)
            let err = removeContents(of: child, path: path.appendingComponent(name), device: device)
            close(child)
            if let err {
                if err == EBUSY { kept = EBUSY; continue }
                return err
            }
            if name.withCPath({ unlinkat(dirfd, $0, AT_REMOVEDIR) }) != 0 && errno != ENOENT { return errno }
        }
        return kept
    }
}
