import Foundation

/// A regular file's body read ahead of the tar writer, or why it could not be.
enum FileContent {
    /// The first `min(read, size)` bytes of `buffer` are the body; `read > size` means the file
    /// grew. `block` is the read-ahead memory to give back (nil when the caller owns `buffer`).
    case loaded(buffer: UnsafeMutableRawBufferPointer, read: Int, block: PrefetchRing.Block?)
    /// Too large to read ahead; the writer streams it from disk itself.
    case streamed
    case vanished
    case unreadable(errno: Int32)
    /// The path no longer names the walked file (swapped for another file or a symlink).
    case replaced
}

/// Reads small files ahead of the tar writer on a pool of threads, into a fixed ring of memory.
///
/// Bounds: `threads` open descriptors at once (one per reader, closed before the next), and
/// `budgetBytes` of read-ahead memory, allocated once (a reader waits for the writer to hand
/// bytes back).
final class FilePrefetcher {
    /// Files larger than this are streamed by the writer instead of read ahead.
    let maxFileSize: Int
    private let pool: WorkerPool
    private let ring: PrefetchRing

    init(threads: Int, budgetBytes: Int, maxFileSize: Int) {
        pool = WorkerPool(threads: threads, name: "reader")
        // One byte more than the largest file read ahead, so such a file always fits.
        ring = PrefetchRing(capacity: max(budgetBytes, min(maxFileSize + 1, 64 << 20)))
        self.maxFileSize = maxFileSize
    }

    deinit { pool.shutdown() }

    /// Starts reading `path` (expected `size` bytes, and to be the file `identity`) and returns
    /// where the result will be.
    func load(path: PathBytes, size: Int, identity: FileIdentity) -> Future<FileContent> {
        let future = Future<FileContent>()
        // One byte more than expected tells a grown file from an unchanged one.
        let capacity = size + 1
        guard size <= maxFileSize, capacity <= ring.capacity else {
            // Ask the kernel to start reading now; the writer reaches it later.
            pool.submit {
                let fd = path.withCPath { open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY) }
                if fd >= 0 { posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED); close(fd) }
            }
            future.fulfil(.streamed)
            return future
        }
        // The memory is taken here, on the caller's thread and in entry order: a reader that took
        // it out of order could hold the bytes a file the writer needs first is waiting for.
        let block = ring.take(capacity)
        pool.submit { [ring] in
            let result = Self.read(path: path, into: ring.buffer(block), identity: identity)
            if case .loaded(let b, let r, _) = result {
                future.fulfil(.loaded(buffer: b, read: r, block: block))
            } else {
                ring.give(block)
                future.fulfil(result)
            }
        }
        return future
    }

    /// Hands a loaded buffer's memory back.
    func release(_ content: FileContent) {
        if case .loaded(_, _, let block?) = content { ring.give(block) }
    }

    /// Reads the walked file at `path` into `buffer` (up to its size).
    static func read(path: PathBytes, into buffer: UnsafeMutableRawBufferPointer, identity: FileIdentity) -> FileContent {
        let fd: Int32
        switch openWalkedFile(path, identity: identity) {
        case .opened(let opened): fd = opened
        case .failed(let content): return content
        }
        defer { close(fd) }
        var filled = 0
        while filled < buffer.count {
            let n = Glibc.read(fd, buffer.baseAddress! + filled, buffer.count - filled)
            if n < 0 {
                if errno == EINTR { continue }
                return .unreadable(errno: errno)
            }
            if n == 0 { break }
            filled += n
        }
        return .loaded(buffer: buffer, read: filled, block: nil)
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
/// the access-time update when allowed (O_NOATIME needs ownership or CAP_FOWNER). O_NONBLOCK,
/// as GNU tar opens: a FIFO swapped in after the walk would otherwise block the open (and the
/// store in maintenance mode) until some writer came; the identity check then refuses it.
/// Reads of regular files ignore the flag.
func openForReading(_ path: PathBytes) -> Int32 {
    var fd = path.withCPath { open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | noAccessTime) }
    if fd < 0 && errno == EPERM {
        fd = path.withCPath { open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY) }
    }
    return fd
}

/// Linux's O_NOATIME, which Glibc's module map does not export.
private let noAccessTime: Int32 = 0o1000000
