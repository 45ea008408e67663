import Foundation
import ThreadKit

/// Removes a tree without following symlinks, working on name bytes so that names which are
/// not UTF-8 go too. Errors other than "already gone" are returned, not thrown, so clean-up
/// paths can report and carry on.
///
/// It never crosses a filesystem boundary: a folder on another device than the tree's top (a
/// volume mounted inside what is being removed) is left alone with a warning, so removing a
/// set-aside tree can never empty a mounted volume. The folders holding it then stay too, and
/// the call returns EBUSY.
///
/// A directory is emptied by several threads, one folder each at a time: the filesystem locks
/// a directory while it unlinks in it, so unlinks in different folders run side by side, and
/// a rollback's old tree (tens of thousands of files over thousands of folders) goes about
/// twice as fast on two cores as with one thread.
///
/// Bounds: `threads` descriptors open at once (each thread holds one folder open while it lists
/// and empties it) and one small record per folder of the tree (its path and a count).
enum TreeRemover {
    /// Threads for one removal: two per core (unlinking is mostly waiting on the filesystem's
    /// locks and journal), at most 8, and within half the descriptor budget and a quarter of
    /// RLIMIT_NPROC.
    /// More threads than this only queue on the file system's locks.
    static let maxThreads = 8

    static var defaultThreads: Int { threads(.current) }

    static func threads(_ limits: ResourceLimits) -> Int {
        max(1, min(limits.cores * 2, maxThreads, limits.descriptorBudget / 2, limits.processes / 4))
    }

    /// Removes `path` (a file, a symlink or a whole tree). Returns nil when it is gone (or was
    /// never there), or the errno of the first failure; on a failure, what was removed stays
    /// removed and the rest is left.
    @discardableResult
    static func remove(_ path: PathBytes, threads: Int = defaultThreads, diagnostics: Diagnostics = .standardError) -> Int32? {
        var st = stat()
        guard path.withCPath({ lstat($0, &st) }) == 0 else { return errno == ENOENT ? nil : errno }
        if (st.st_mode & S_IFMT) != S_IFDIR {
            return path.withCPath { unlink($0) } == 0 || errno == ENOENT ? nil : errno
        }
        return ParallelRemoval(top: path, device: st.st_dev, diagnostics: diagnostics).run(threads: max(1, threads))
    }
}

/// A folder being removed: it goes (rmdir) once every subfolder it had has gone.
private final class RemovalNode {
    let path: PathBytes
    let parent: RemovalNode?
    /// Subfolders not yet removed; guarded by the removal's lock.
    var pending = 0
    /// Holds something left alone (a mount point), so it stays; guarded by the removal's lock.
    var keep = false

    init(path: PathBytes, parent: RemovalNode?) {
        self.path = path
        self.parent = parent
    }
}

/// One removal's shared state: a stack of folders to empty, and the first error.
///
/// Folders below the top are reached by absolute path (opened with O_NOFOLLOW). That is safe
/// for the trees this removes: they sit in folders fastbackup created with mode 0700
/// (`.fastbackup-old-*`, `.fastbackup-staging-*`), where no other user can swap a folder for a
/// symlink.
private final class ParallelRemoval: @unchecked Sendable {
    private let cond = Monitor()
    private let top: RemovalNode
    private var stack: [RemovalNode]
    /// Folders pushed but not yet emptied (on the stack or in a thread's hands).
    private var outstanding = 1
    private var firstError: Int32?
    private var running = 0

    private let device: dev_t
    private let diagnostics: Diagnostics

    init(top path: PathBytes, device: dev_t, diagnostics: Diagnostics) {
        top = RemovalNode(path: path, parent: nil)
        stack = [top]
        self.device = device
        self.diagnostics = diagnostics
    }

    func run(threads: Int) -> Int32? {
        cond.lock(); running = threads; cond.unlock()
        for i in 1..<threads {
            do {
                try startThread(named: "remove-\(i)", stackSize: ThreadStack.small) { [self] in work() }
            } catch {
                // Fewer threads only make the removal slower.
                cond.withLock { running -= 1 }
            }
        }
        work()
        cond.lock(); defer { cond.unlock() }
        while running > 0 { cond.wait() }
        return firstError ?? (top.keep ? EBUSY : nil)
    }

    private func work() {
        while let node = next() {
            let (children, err, foreign) = empty(node)
            cond.lock()
            if let err, firstError == nil { firstError = err }
            var finishing: RemovalNode?
            if firstError == nil {
                if foreign { node.keep = true }
                node.pending = children.count
                stack.append(contentsOf: children)
                outstanding += children.count
                if children.isEmpty { finishing = node }
            }
            outstanding -= 1
            cond.broadcast()
            cond.unlock()
            // Remove the folder, then every ancestor whose last subfolder this was.
            while let n = finishing {
                finishing = nil
                cond.lock()
                let keep = n.keep
                cond.unlock()
                let rc = keep ? 0 : (n.path.withCPath { rmdir($0) } == 0 || errno == ENOENT ? 0 : errno)
                cond.lock()
                if rc != 0, firstError == nil { firstError = rc }
                if keep, let p = n.parent { p.keep = true }
                if firstError == nil, let p = n.parent {
                    p.pending -= 1
                    if p.pending == 0 { finishing = p }
                }
                cond.unlock()
            }
        }
        cond.lock(); running -= 1; cond.broadcast(); cond.unlock()
    }

    private func next() -> RemovalNode? {
        cond.lock(); defer { cond.unlock() }
        while stack.isEmpty && outstanding > 0 && firstError == nil { cond.wait() }
        if firstError != nil || stack.isEmpty { return nil }
        return stack.removeLast()
    }

    /// Unlinks everything in `node` but its subfolders, which it returns.
    /// Lists a folder, unlinks everything in it but its subfolders, and returns those. A folder
    /// on another device (a mount point) is left untouched: `foreign` is true.
    private func empty(_ node: RemovalNode) -> (children: [RemovalNode], error: Int32?, foreign: Bool) {
        let fd = node.path.withCPath { open($0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else { return ([], errno == ENOENT ? nil : errno, false) }
        var st = stat()
        if fstat(fd, &st) != 0 || st.st_dev != device {
            close(fd)
            diagnostics.warning("left \(node.path.displayString) alone: it is on another filesystem (a mount point)")
            return ([], nil, true)
        }
        // A folder without write permission cannot be emptied; we created it, so fix it.
        if node !== top { fchmod(fd, 0o700) }
        guard let dir = fdopendir(fd) else { let e = errno; close(fd); return ([], e, false) }
        defer { closedir(dir) }
        var entries: [(name: PathBytes, type: UInt8)] = []
        while let ent = readdir(dir) {
            let name = entryName(ent)
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            entries.append((name, ent.pointee.d_type))
        }
        var children: [RemovalNode] = []
        for (name, type) in entries {
            if type != UInt8(DT_DIR) {
                if name.withCPath({ unlinkat(fd, $0, 0) }) == 0 || errno == ENOENT { continue }
                guard errno == EISDIR else { return (children, errno, false) }
            }
            children.append(RemovalNode(path: node.path.appendingComponent(name), parent: node))
        }
        return (children, nil, false)
    }
}
