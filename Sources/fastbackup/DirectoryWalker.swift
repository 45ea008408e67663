import Foundation

/// One thing found by the walker, in the order it is emitted.
struct WalkedEntry {
    /// Relative to the walk's base directory, e.g. `catalog/product/a/b/x.jpg`.
    let relativePath: PathBytes
    /// Where it lives on disk.
    let absolutePath: PathBytes
    let info: stat
}

/// Problems the walker met that do not stop it; the caller decides what they mean.
enum WalkProblem {
    case vanished(PathBytes)
    case unreadable(PathBytes, errno: Int32)
}

/// A concurrent directory walker that emits entries in a deterministic order: depth-first,
/// names sorted bytewise within each directory (the order `LC_ALL=C` sorting gives).
///
/// Worker threads do `readdir` and `lstat` for directories ahead of the emitter: when the
/// emitter lists a directory it queues all its subdirectories, so on a tree of many small
/// directories the metadata work of several directories overlaps. Bounds, fixed up front:
/// - threads: `threads` (I/O bound, so more than the cores is useful);
/// - open descriptors: one per thread (a directory is closed before the next is opened);
/// - memory: at most `maxPrefetched` directory listings held ahead of the emitter; past
///   that a directory is listed when the emitter reaches it.
final class DirectoryWalker {
    private struct Child {
        let name: PathBytes
        let info: stat
    }

    private enum Listing {
        case ok([Child])
        case failed(errno: Int32)
    }

    private final class Pending {
        let absolutePath: PathBytes
        let relativePath: PathBytes
        var future: Future<Listing>?
        init(absolutePath: PathBytes, relativePath: PathBytes) {
            self.absolutePath = absolutePath
            self.relativePath = relativePath
        }
    }

    private let pool: WorkerPool
    private let prefetchSlots: Budget
    private let exclude: (PathBytes, stat) -> Bool

    /// - Parameters:
    ///   - exclude: called with each path relative to the base; true leaves it (and, for a
    ///     directory, everything below it) out.
    init(threads: Int, maxPrefetched: Int = 1024, exclude: @escaping (PathBytes, stat) -> Bool) {
        pool = WorkerPool(threads: threads, name: "walker")
        prefetchSlots = Budget(maxPrefetched)
        self.exclude = exclude
    }

    deinit { pool.shutdown() }

    /// Walks `base` (not emitted itself) and calls `visit` for every entry below it, in order.
    /// Problems go to `problem`. Throws if `base` itself cannot be listed, or what `visit` throws.
    func walk(base: PathBytes, visit: (WalkedEntry) throws -> Void, problem: (WalkProblem) -> Void) throws {
        let top = Pending(absolutePath: base, relativePath: [])
        let first = Self.list(base)
        if case .failed(let err) = first {
            throw CommandError("Cannot read directory \(base.displayString): \(String(cString: strerror(err)))")
        }
        let ready = Future<Listing>()
        ready.fulfil(first)
        top.future = ready
        prefetchSlots.take(1)
        var stack: [(children: [Child], index: Int, dir: Pending, subdirs: [Int: Pending])] = []
        func open(_ dir: Pending) {
            let listing: Listing
            if let f = dir.future {
                listing = f.wait()
                prefetchSlots.give(1)
            } else {
                listing = Self.list(dir.absolutePath)
            }
            switch listing {
            case .failed(let err):
                if err == ENOENT || err == ENOTDIR { problem(.vanished(dir.absolutePath)) }
                else { problem(.unreadable(dir.absolutePath, errno: err)) }
                stack.append(([], 0, dir, [:]))
            case .ok(let children):
                var subdirs: [Int: Pending] = [:]
                for (i, child) in children.enumerated() where (child.info.st_mode & S_IFMT) == S_IFDIR {
                    let rel = dir.relativePath.appendingComponent(child.name)
                    if exclude(rel, child.info) { continue }
                    let pending = Pending(absolutePath: dir.absolutePath.appendingComponent(child.name), relativePath: rel)
                    if prefetchSlots.tryTake(1) {
                        let future = Future<Listing>()
                        pending.future = future
                        let path = pending.absolutePath
                        pool.submit { future.fulfil(Self.list(path)) }
                    }
                    subdirs[i] = pending
                }
                stack.append((children, 0, dir, subdirs))
            }
        }
        open(top)
        while !stack.isEmpty {
            let top = stack.count - 1
            let index = stack[top].index
            if index == stack[top].children.count {
                let frame = stack.removeLast()
                // Listings queued for directories we never entered still hold slots.
                for (_, p) in frame.subdirs where p.future != nil { _ = p.future!.wait(); prefetchSlots.give(1); p.future = nil }
                continue
            }
            stack[top].index += 1
            let child = stack[top].children[index]
            let dir = stack[top].dir
            let rel = dir.relativePath.appendingComponent(child.name)
            let isDir = (child.info.st_mode & S_IFMT) == S_IFDIR
            if let pending = stack[top].subdirs.removeValue(forKey: index) {
                try visit(WalkedEntry(relativePath: rel, absolutePath: pending.absolutePath, info: child.info))
                open(pending)
            } else if !isDir, !exclude(rel, child.info) {
                // Directories without a Pending were excluded when their parent was opened.
                try visit(WalkedEntry(relativePath: rel, absolutePath: dir.absolutePath.appendingComponent(child.name), info: child.info))
            }
        }
    }

    /// readdir + lstat of one directory, sorted by name bytes.
    private static func list(_ path: PathBytes) -> Listing {
        let fd = path.withCPath { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { return .failed(errno: errno) }
        guard let dir = fdopendir(fd) else {
            let err = errno
            close(fd)
            return .failed(errno: err)
        }
        defer { closedir(dir) }
        var children: [Child] = []
        while true {
            errno = 0
            guard let ent = readdir(dir) else {
                if errno != 0 { return .failed(errno: errno) }
                break
            }
            let name = entryName(ent)
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            var st = stat()
            let rc = name.withCPath { fstatat(fd, $0, &st, AT_SYMLINK_NOFOLLOW) }
            if rc != 0 { continue } // vanished between readdir and lstat: not there any more
            children.append(Child(name: name, info: st))
        }
        children.sort { $0.name.lexicographicallyPrecedes($1.name) }
        return .ok(children)
    }
}
