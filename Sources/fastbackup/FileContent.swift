import Foundation

/// A regular file's body read ahead of the tar writer, or why it could not be.
enum FileContent {
    /// The first `min(read, size)` bytes are the body; `read > size` means the file grew.
    case loaded(buffer: UnsafeMutableRawBufferPointer, read: Int, budget: Int)
    /// Too large to read ahead; the writer streams it from disk itself.
    case streamed
    case vanished
    case unreadable(errno: Int32)
    /// The path no longer names the walked file (swapped for another file or a symlink).
    case replaced
}

/// Reads small files ahead of the tar writer on a pool of threads, within a byte budget.
///
/// Bounds: `threads` open descriptors at once (one per reader, closed before the next), and
/// `budgetBytes` of buffers held (a reader waits for the writer to hand bytes back).
final class FilePrefetcher {
    /// Files larger than this are streamed by the writer instead of read ahead.
    let maxFileSize: Int
    private let pool: WorkerPool
    private let budget: Budget

    init(threads: Int, budgetBytes: Int, maxFileSize: Int) {
        pool = WorkerPool(threads: threads, name: "reader")
        budget = Budget(budgetBytes)
        self.maxFileSize = maxFileSize
    }

    deinit { pool.shutdown() }

    /// Starts reading `path` (expected `size` bytes, and to be the file `identity`) and returns
    /// where the result will be.
    func load(path: PathBytes, size: Int, identity: FileIdentity) -> Future<FileContent> {
        let future = Future<FileContent>()
        guard size <= maxFileSize else {
            // Ask the kernel to start reading now; the writer reaches it later.
            pool.submit {
                let fd = path.withCPath { open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
                if fd >= 0 { posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED); close(fd) }
            }
            future.fulfil(.streamed)
            return future
        }
        // One byte more than expected tells a grown file from an unchanged one.
        let capacity = size + 1
        // The budget is taken here, on the caller's thread and in entry order: a reader that took
        // it out of order could hold the bytes a file the writer needs first is waiting for.
        let taken = budget.take(capacity)
        pool.submit { [budget] in
            let result = Self.read(path: path, capacity: capacity, identity: identity)
            if case .loaded = result {
                future.fulfil(result.withBudget(taken))
            } else {
                budget.give(taken)
                future.fulfil(result)
            }
        }
        return future
    }

    /// Hands a loaded buffer's memory back.
    func release(_ content: FileContent) {
        if case .loaded(let buffer, _, let taken) = content {
            buffer.deallocate()
            budget.give(taken)
        }
    }

    static func read(path: PathBytes, capacity: Int, identity: FileIdentity) -> FileContent {
        let fd: Int32
        switch openWalkedFile(path, identity: identity) {
        case .opened(let opened): fd = opened
        case .failed(let content): return content
        }
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 16)
        var filled = 0
        while filled < capacity {
            let n = Glibc.read(fd, buffer.baseAddress! + filled, capacity - filled)
            if n < 0 {
                if errno == EINTR { continue }
                let err = errno
                buffer.deallocate()
                return .unreadable(errno: err)
            }
            if n == 0 { break }
            filled += n
        }
        return .loaded(buffer: buffer, read: filled, budget: 0)
    }
}

private extension FileContent {
    func withBudget(_ taken: Int) -> FileContent {
        if case .loaded(let b, let r, _) = self { return .loaded(buffer: b, read: r, budget: taken) }
        return self
    }
}

/// A walked file opened for reading, or why not (as the `FileContent` to report).
enum WalkedFileOpen {
    case opened(Int32)
    case failed(FileContent)
}

/// Opens a walked regular file and checks that the descriptor is the file the walk saw: a path
/// whose parent folder was swapped for a symlink after the walk could otherwise pull a file from
/// anywhere into the backup. The caller closes the descriptor.
func openWalkedFile(_ path: PathBytes, identity: FileIdentity) -> WalkedFileOpen {
    let fd = openForReading(path)
    guard fd >= 0 else {
        let err = errno
        switch err {
        case ENOENT: return .failed(.vanished)
        case ELOOP, ENOTDIR: return .failed(.replaced)
        default: return .failed(.unreadable(errno: err))
        }
    }
    guard identity.matches(fd: fd) else {
        close(fd)
        return .failed(.replaced)
    }
    return .opened(fd)
}

/// Opens a file to back it up: never follows a symlink swapped in after the walk, and skips
/// the access-time update when allowed (O_NOATIME needs ownership or CAP_FOWNER).
func openForReading(_ path: PathBytes) -> Int32 {
    var fd = path.withCPath { open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | noAccessTime) }
    if fd < 0 && errno == EPERM {
        fd = path.withCPath { open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
    }
    return fd
}

/// Linux's O_NOATIME, which Glibc's module map does not export.
private let noAccessTime: Int32 = 0o1000000
