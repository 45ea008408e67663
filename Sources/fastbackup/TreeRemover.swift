import Foundation

/// Removes a tree without following symlinks, working on name bytes so that names which are
/// not UTF-8 go too. Errors other than "already gone" are returned, not thrown, so clean-up
/// paths can report and carry on.
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
        let err = removeContents(of: parent)
        close(parent)
        if let err { return err }
        return path.withCPath { rmdir($0) } == 0 || errno == ENOENT ? nil : errno
    }

    /// Empties the directory open at `dirfd` (one descriptor per level of depth).
    private static func removeContents(of dirfd: Int32) -> Int32? {
        let dup = dup(dirfd)
        guard dup >= 0, let dir = fdopendir(dup) else { return errno }
        defer { closedir(dir) }
        var names: [PathBytes] = []
        while let ent = readdir(dir) {
            let name = entryName(ent)
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            names.append(name)
        }
        for name in names {
            if name.withCPath({ unlinkat(dirfd, $0, 0) }) == 0 || errno == ENOENT { continue }
            guard errno == EISDIR else { return errno }
            let child = name.withCPath { openat(dirfd, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            guard child >= 0 else { return errno }
            // A directory without write permission cannot be emptied; we created it, so fix it.
            fchmod(child, 0o700)
            let err = removeContents(of: child)
            close(child)
            if let err { return err }
            if name.withCPath({ unlinkat(dirfd, $0, AT_REMOVEDIR) }) != 0 && errno != ENOENT { return errno }
        }
        return nil
    }
}
