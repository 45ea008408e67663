import Foundation
import ThreadKit
import SystemCalls

/// A regular file's body read ahead of the tar writer, or why it could not be.
enum FileContent {
    /// The first `min(read, size)` bytes of `buffer` are the body; `read > size` means the file
    /// grew. The memory is its batch's (see ``ReadAhead``), or the caller's.
    case loaded(buffer: UnsafeMutableRawBufferPointer, read: Int)
    /// Too large to read ahead; the writer streams it from disk itself.
    case streamed
    case vanished
    case unreadable(errno: Int32)
    /// The path no longer names the walked file (swapped for another file or a symlink).
    case replaced
}

/// One file of a batch to read ahead: where it is, what it must still be, and the bytes of the
/// batch's block it may fill (its size plus one, to tell a grown file from an unchanged one).
struct ReadAheadFile {
    let path: PathBytes
    let identity: FileIdentity
    let offset: Int
    let capacity: Int
}

/// Reads small files ahead of the tar writer on a pool of threads, into a fixed ring of memory,
/// a batch of files at a time.
///
/// A store's trees are tens of thousands of files of a few KB: handing each file to a reader and
/// back on its own cost several futex wake-ups per file (368,728 futex calls for the 40,980 files
/// of a Magento 2.4.8 code tree). A batch is one ring block, one reader job and one wait for the
/// writer, for up to ``ReadAheadBatching/maxFiles`` files.
///
/// Bounds: `threads` open descriptors at once (one per reader, closed before the next), and
/// `budgetBytes` of read-ahead memory, allocated once (the emitter waits for the writer to hand
/// bytes back).
final class FilePrefetcher {
    /// Files larger than this are streamed by the writer instead of read ahead.
    let maxFileSize: Int
    private let pool: WorkerPool
    private let ring: BufferRing

    init(threads: Int, budgetBytes: Int, maxFileSize: Int) throws {
        pool = try WorkerPool(threads: threads, name: "reader")
        // One byte more than the largest file read ahead, so such a file always fits.
        ring = BufferRing(capacity: max(budgetBytes, min(maxFileSize + 1, 64 << 20)))
        self.maxFileSize = maxFileSize
    }

    deinit { pool.shutdown() }

    /// Whether a file of `size` bytes is read ahead (else the writer streams it).
    func readsAhead(size: Int) -> Bool { size <= maxFileSize && size + 1 <= ring.capacity }

    /// Asks the kernel to start reading a file the writer will stream itself later.
    func adviseWillNeed(path: PathBytes) {
        pool.submit {
            let fd = path.withCPath { open($0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY) }
            if fd >= 0 { posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED); close(fd) }
        }
    }

    /// Starts reading `files` (laid out one after another from offset 0, `totalBytes` in all)
    /// into one ring block, and returns where each file's result will be, in the same order.
    /// Called on one thread in entry order: a reader that took memory out of order could hold
    /// the bytes a file the writer needs first is waiting for.
    func load(_ files: [ReadAheadFile], totalBytes: Int) -> ReadAhead {
        let block = ring.take(totalBytes)
        let future = Future<[FileContent]>()
        pool.submit { [ring] in
            let memory = ring.buffer(block)
            future.fulfil(files.map { f in
                Self.read(path: f.path, into: UnsafeMutableRawBufferPointer(rebasing: memory[f.offset..<(f.offset + f.capacity)]),
                          identity: f.identity)
            })
        }
        return ReadAhead(block: block, contents: future)
    }

    /// Hands a batch's memory back once the writer is done with every file in it.
    func release(_ readAhead: ReadAhead) { ring.give(readAhead.block) }

    /// Reads the walked file at `path` into `buffer` (up to its size).
    ///
    /// One `read` per file where the file is as the walk saw it: the size fstat gave after the
    /// open says where its end is, so the read that stops there needs no second read to find
    /// end of file. A file that grows between the fstat and the read fills more of the buffer
    /// (its last byte tells a grown file); one that is cut gives a short read that does not
    /// match the size, and the loop reads on to the real end.
    static func read(path: PathBytes, into buffer: UnsafeMutableRawBufferPointer, identity: FileIdentity) -> FileContent {
        let fd: FileDescriptor, size: Int
        switch openWalkedFile(path, identity: identity) {
        case .opened(let opened, let info): fd = FileDescriptor(rawValue: opened); size = Int(info.st_size)
        case .failed(let content): return content
        }
        defer { fd.close() }
        var filled = 0
        do {
            while filled < buffer.count {
                let n = try fd.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
                if n == 0 { break }
                filled += n
                if filled == size && filled < buffer.count { break }
            }
        } catch {
            return .unreadable(errno: error.rawValue)
        }
        return .loaded(buffer: buffer, read: filled)
    }
}

/// A batch's read-ahead: its ring block and, when the reader is done, each file's content.
struct ReadAhead {
    let block: BufferRing.Block
    let contents: Future<[FileContent]>
}

/// How entries are grouped for the hand-offs between the walker, the readers and the writer.
enum ReadAheadBatching {
    /// Entries per batch. 64 brings the hand-offs to a few futex calls per 64 files; more gains
    /// little and makes the writer wait longer for the first batch.
    static let maxFiles = 64
    /// Read-ahead bytes per batch: a batch of photos (about 100 KB each) stays small enough
    /// that the four readers still read several batches at once.
    static let maxBytes = 1 << 20
}

/// A walked file opened for reading, or why not (as the `FileContent` to report).
enum WalkedFileOpen {
    /// The descriptor, and its fstat (the file's size when it was opened).
    case opened(Int32, stat)
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
    guard let st = identity.status(ifMatching: fd) else {
        close(fd)
        return .failed(.replaced)
    }
    return .opened(fd, st)
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
