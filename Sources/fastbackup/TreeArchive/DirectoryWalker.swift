import Foundation
import ThreadKit
import SystemCalls

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
    /// A directory that was swapped (for a symlink, or another directory) after its parent was
    /// listed: its content is left out rather than read from wherever it now points.
    case replaced(PathBytes)
}

/// The identity of a walked file: what an open descriptor must still be to be read as it.
struct FileIdentity: Hashable {
    let device: UInt64
    let inode: UInt64
    /// The file type too: a file removed and replaced at once (by a FIFO, say) often gets the
    /// freed inode number back.
    let type: UInt32

    init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        type = UInt32(st.st_mode & S_IFMT)
    }

    /// Whether `fd` is still this file (false too when fstat fails).
    func matches(fd: Int32) -> Bool { status(ifMatching: fd) != nil }

    /// `fd`'s fstat when `fd` is still this file; nil when it is another or fstat fails.
    func status(ifMatching fd: Int32) -> stat? {
        var st = stat()
        guard fstat(fd, &st) == 0, FileIdentity(st) == self else { return nil }
        return st
    }
}

/// A concurrent directory walker that emits entries in a deterministic order: depth-first,
/// names sorted bytewise within each directory (the order `LC_ALL=C` sorting gives).
///
/// Worker threads do `getdents64` and `lstat` for directories ahead of the emitter: when the
/// emitter lists a directory it queues its subdirectories, so on a tree of many small
/// directories the metadata work of several directories overlaps. Bounds, fixed up front:
/// - threads: `threads` (I/O bound, so more than the cores is useful);
/// - open descriptors: one per thread (a directory is closed before the next is opened);
/// - memory: at most `maxPrefetched` directory listings and `prefetchEntries` entries in
///   them held ahead of the emitter. A worker takes the entries from the budget after it
///   has listed a directory, without waiting: a listing that does not fit is dropped and the
///   emitter lists that directory itself when it reaches it. So nothing ever waits for
///   budget, and the emitter (which gives it back) can never be waited on by a listing.
///
/// Each directory is opened with O_NOFOLLOW and its fstat must match what its parent's
/// listing saw; a directory swapped after that is reported as `.replaced`, not read.
final class DirectoryWalker {
    private enum Listing {
        /// `budget` entries are held in the walker's entry budget until the emitter takes it.
        case ok([FolderEntry], budget: Int)
        case failed(errno: Int32)
        case replaced
        /// Listed ahead, but over the entry budget: the emitter lists it again itself.
        case notPrefetched
        /// Over ``LargeFolderListing/threshold`` entries: names only, lstat a piece at a time.
        case large(LargeFolderListing)
    }

    /// The entries of the folder a stack frame walks.
    private enum Children {
        case whole([FolderEntry])
        case large(LargeFolderListing)

        var count: Int {
            switch self {
            case .whole(let c): return c.count
            case .large(let l): return l.count
            }
        }

        /// Nil for an entry of a large folder that vanished before its piece was read.
        func child(at i: Int) -> FolderEntry? {
            switch self {
            case .whole(let c): return c[i]
            case .large(let l): return l.entry(at: i)
            }
        }
    }

    private final class Pending {
        let absolutePath: PathBytes
        let relativePath: PathBytes
        /// nil for the base, which may itself be reached through a symlink.
        let identity: FileIdentity?
        var future: ClaimableFuture<Listing>?
        init(absolutePath: PathBytes, relativePath: PathBytes, identity: FileIdentity?) {
            self.absolutePath = absolutePath
            self.relativePath = relativePath
            self.identity = identity
        }
    }

    /// Sibling folders listed by one job of the pool.
    static let foldersPerJob = 8

    private let pool: WorkerPool
    private let prefetchSlots: NonBlockingBudget
    private let prefetchEntries: NonBlockingBudget
    private let exclude: (PathBytes, stat) -> Bool

    /// - Parameters:
    ///   - exclude: called with each path relative to the base; true leaves it (and, for a
    ///     directory, everything below it) out.
    ///   - prefetchEntries: entries (about 200 bytes each) held in listings read ahead.
    /// Folder listings read ahead of the walk, at most.
    static let listingsAhead = 1024
    /// Entries held in those listings, at most.
    static let entriesAhead = 64 << 10

    init(threads: Int, maxPrefetched: Int = listingsAhead, prefetchEntries: Int = entriesAhead,
         exclude: @escaping (PathBytes, stat) -> Bool) throws {
        pool = try WorkerPool(threads: threads, name: "walker")
        prefetchSlots = NonBlockingBudget(maxPrefetched)
        self.prefetchEntries = NonBlockingBudget(prefetchEntries)
        self.exclude = exclude
    }

    deinit { pool.shutdown() }

    /// Walks `base` (not emitted itself) and calls `visit` for every entry below it, in order.
    /// Problems go to `problem`. Throws if `base` itself cannot be listed, or what `visit` throws.
    func walk(base: PathBytes, visit: (WalkedEntry) throws -> Void, problem: (WalkProblem) -> Void) throws {
        let top = Pending(absolutePath: base, relativePath: [], identity: nil)
        let first = Self.list(base, identity: nil)
        if case .failed(let err) = first {
            throw TreeError("Cannot read directory \(base.displayString): \(String(cString: strerror(err)))")
        }
        let ready = ClaimableFuture<Listing>()
        _ = ready.claim()
        ready.fulfil(first)
        // The top listing is not read ahead: it holds no slot.
        top.future = ready
        var stack: [(children: Children, index: Int, dir: Pending, subdirs: [Int: Pending])] = []
        let entryBudget = prefetchEntries
        /// Waits for a prefetched listing and hands back what it holds; nil when the caller must
        /// list the folder itself (never read ahead, or not started by a worker yet: on a warm
        /// cache the emitter often reaches a folder first, and listing it costs less than waiting).
        func collect(_ dir: Pending) -> Listing? {
            guard let f = dir.future else { return nil }
            if dir !== top, f.claim() {
                dir.future = nil
                prefetchSlots.give(1)
                return nil
            }
            let listing = f.wait()
            dir.future = nil
            if dir === top { return listing }
            prefetchSlots.give(1)
            if case .ok(_, let held) = listing { entryBudget.give(held) }
            if case .notPrefetched = listing { return nil }
            return listing
        }
        func open(_ dir: Pending) {
            let listing = collect(dir) ?? Self.list(dir.absolutePath, identity: dir.identity)
            switch listing {
            case .failed(let err):
                if err == ENOENT { problem(.vanished(dir.absolutePath)) }
                else { problem(.unreadable(dir.absolutePath, errno: err)) }
                stack.append((.whole([]), 0, dir, [:]))
            case .replaced, .notPrefetched:
                problem(.replaced(dir.absolutePath))
                stack.append((.whole([]), 0, dir, [:]))
            case .large(let listing):
                // Its folders are listed when the walk reaches them, not ahead.
                stack.append((.large(listing), 0, dir, [:]))
            case .ok(let children, _):
                var subdirs: [Int: Pending] = [:]
                var ahead: [(path: PathBytes, identity: FileIdentity?, future: ClaimableFuture<Listing>)] = []
                for (i, child) in children.enumerated() where (child.info.st_mode & S_IFMT) == S_IFDIR {
                    let rel = dir.relativePath.appendingComponent(child.name)
                    if exclude(rel, child.info) { continue }
                    let pending = Pending(absolutePath: dir.absolutePath.appendingComponent(child.name), relativePath: rel,
                                          identity: FileIdentity(child.info))
                    if prefetchSlots.tryTake(1) {
                        let future = ClaimableFuture<Listing>()
                        pending.future = future
                        ahead.append((pending.absolutePath, pending.identity, future))
                    }
                    subdirs[i] = pending
                }
                // Sibling folders are listed a group to a job, in the order the emitter needs them,
                // and the groups are handed to the pool at once: a job and a wake-up per folder
                // cost about five futex calls per folder on a vendor/ tree of small folders.
                var jobs: [() -> Void] = []
                var start = 0
                while start < ahead.count {
                    // A copy, not a slice: a slice would keep every sibling's future (and the
                    // listing it holds once fulfilled) alive until the last job of the parent had
                    // run, so a folder of 800 subfolders held all 800 listings at once.
                    let group = Array(ahead[start..<min(ahead.count, start + Self.foldersPerJob)])
                    start += Self.foldersPerJob
                    jobs.append {
                        for item in group where item.future.claim() {
                            var listing = Self.list(item.path, identity: item.identity)
                            if case .ok(let children, _) = listing {
                                // Never wait here: the emitter may be waiting for this very listing.
                                listing = entryBudget.tryTake(children.count) ? .ok(children, budget: children.count) : .notPrefetched
                            } else if case .large = listing {
                                listing = .notPrefetched
                            }
                            item.future.fulfil(listing)
                        }
                    }
                }
                pool.submit(contentsOf: jobs)
                stack.append((.whole(children), 0, dir, subdirs))
            }
        }
        open(top)
        while !stack.isEmpty {
            let top = stack.count - 1
            let index = stack[top].index
            if index == stack[top].children.count {
                let frame = stack.removeLast()
                // Listings queued for directories we never entered still hold slots.
                for (_, p) in frame.subdirs { _ = collect(p) }
                continue
            }
            stack[top].index += 1
            guard let child = stack[top].children.child(at: index) else { continue }
            let dir = stack[top].dir
            let rel = dir.relativePath.appendingComponent(child.name)
            let isDir = (child.info.st_mode & S_IFMT) == S_IFDIR
            if let pending = stack[top].subdirs.removeValue(forKey: index) {
                try visit(WalkedEntry(relativePath: rel, absolutePath: pending.absolutePath, info: child.info))
                open(pending)
            } else if child.statError != 0 {
                if !exclude(rel, child.info) {
                    problem(.unreadable(dir.absolutePath.appendingComponent(child.name), errno: child.statError))
                }
            } else if isDir, case .large = stack[top].children, !exclude(rel, child.info) {
                let pending = Pending(absolutePath: dir.absolutePath.appendingComponent(child.name), relativePath: rel,
                                      identity: FileIdentity(child.info))
                try visit(WalkedEntry(relativePath: rel, absolutePath: pending.absolutePath, info: child.info))
                open(pending)
            } else if !isDir, !exclude(rel, child.info) {
                // Directories of a whole listing without a Pending were excluded when their parent was opened.
                try visit(WalkedEntry(relativePath: rel, absolutePath: dir.absolutePath.appendingComponent(child.name), info: child.info))
            }
        }
    }

    /// getdents64 + lstat of one directory, sorted by name bytes. With an `identity` the path
    /// must still be that directory, not a symlink or another one swapped in since it was seen.
    /// The listing reads the kernel's records straight into a buffer of its own: fdopendir and
    /// readdir would add two fcntl calls per folder and a copy of every name. The names are
    /// gathered first, so that a folder too large to hold with every lstat is kept as names only.
    private static func list(_ path: PathBytes, identity: FileIdentity?) -> Listing {
        let flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (identity == nil ? 0 : O_NOFOLLOW)
        let dir: FileDescriptor
        do { dir = try path.withCPath { p throws(Errno) in try FileDescriptor.open(p, flags) } }
        catch { return error == .tooManySymbolicLinks || error == .notDirectory ? .replaced : .failed(errno: error.rawValue) }
        var keepOpen = false
        defer { if !keepOpen { dir.close() } }
        if let identity, !identity.matches(fd: dir.rawValue) { return .replaced }
        var names = FolderNames()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: DirectoryStream.recommendedBufferSize, alignment: 8)
        defer { buffer.deallocate() }
        do {
            try DirectoryStream.forEachEntry(in: dir, buffer: buffer) { entry in
                if !entry.isDotOrDotDot { names.append(entry.name) }
            }
        } catch let error as SystemCallError {
            return .failed(errno: error.errno.rawValue)
        } catch {
            return .failed(errno: EIO)
        }
        if names.count > LargeFolderListing.threshold {
            keepOpen = true
            return .large(LargeFolderListing(directory: dir, names: names))
        }
        // An entry that vanished between the listing and its lstat is not there any more.
        var children = (0..<names.count).compactMap { names.entry($0, in: dir) }
        children.sort { $0.name.lexicographicallyPrecedes($1.name) }
        return .ok(children, budget: 0)
    }
}
