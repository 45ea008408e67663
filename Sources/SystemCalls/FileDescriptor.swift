#if canImport(Glibc)
import Glibc

/// Linux's sync_file_range(2), which Glibc's module map does not export (it needs _GNU_SOURCE).
@_silgen_name("sync_file_range")
private func linuxSyncFileRange(_ fd: Int32, _ offset: Int64, _ count: Int64, _ flags: UInt32) -> Int32
#elseif canImport(Darwin)
import Darwin
#endif

/// An open file descriptor (swift-system's `FileDescriptor`): the calls the pipelines make, each
/// with the EINTR loop written once (``retryingInterrupts(_:)``) and short counts looped where a
/// caller wants all the bytes. A value: it does not close itself; its owner calls ``close()``.
public struct FileDescriptor: Hashable, Sendable {
    /// The raw descriptor.
    public let rawValue: Int32

    /// Wraps a raw descriptor.
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// `openat(2)` of `path` (NUL-terminated) relative to `directory` (or the working folder).
    public static func open(_ path: UnsafePointer<CChar>, _ flags: Int32, mode: mode_t = 0,
                            relativeTo directory: FileDescriptor? = nil) throws(Errno) -> FileDescriptor {
        let dirfd = directory?.rawValue ?? AT_FDCWD
        return FileDescriptor(rawValue: try retryingInterrupts { openat(dirfd, path, flags, mode) })
    }

    /// `pipe(2)` with both ends close-on-exec (glibc's `pipe2` is not visible to Swift without
    /// `_GNU_SOURCE`) and, given `capacity`, the kernel buffer set to it (`F_SETPIPE_SZ`; a
    /// deeper pipe wakes the two sides less often than the default 64 KiB). The caller owns both.
    public static func pipe(capacity: Int? = nil) throws(Errno) -> (read: FileDescriptor, write: FileDescriptor) {
        var ends: [Int32] = [0, 0]
        #if canImport(Glibc)
        guard Glibc.pipe(&ends) == 0 else { throw Errno.current }
        #else
        guard Darwin.pipe(&ends) == 0 else { throw Errno.current }
        #endif
        for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        if let capacity { _ = fcntl(ends[1], 1031 /* F_SETPIPE_SZ */, Int32(capacity)) }
        return (FileDescriptor(rawValue: ends[0]), FileDescriptor(rawValue: ends[1]))
    }

    /// `close(2)`. EINTR is not retried: on Linux the descriptor is gone either way.
    public func close() {
        #if canImport(Glibc)
        _ = Glibc.close(rawValue)
        #else
        _ = Darwin.close(rawValue)
        #endif
    }

    /// One `read(2)` of at most `buffer.count` bytes; 0 at end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        #if canImport(Glibc)
        return try retryingInterrupts { Glibc.read(rawValue, base, buffer.count) }
        #else
        return try retryingInterrupts { Darwin.read(rawValue, base, buffer.count) }
        #endif
    }

    /// `read(2)` until `buffer` is full or the file ends; returns the bytes read.
    public func readFull(into buffer: UnsafeMutableRawBufferPointer) throws(Errno) -> Int {
        var done = 0
        while done < buffer.count {
            let n = try read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]))
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// One `pread(2)` of at most `buffer.count` bytes at `offset`; 0 at end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(Errno) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        return try retryingInterrupts { pread(rawValue, base, buffer.count, off_t(offset)) }
    }

    /// `write(2)` of every byte of `bytes`, looping over short writes. A write that takes
    /// nothing (a device that is full in a way that does not say so) fails with `EIO` rather
    /// than loop forever.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(Errno) {
        guard var base = bytes.baseAddress else { return }
        var left = bytes.count
        while left > 0 {
            #if canImport(Glibc)
            let n = try retryingInterrupts { Glibc.write(rawValue, base, left) }
            #else
            let n = try retryingInterrupts { Darwin.write(rawValue, base, left) }
            #endif
            if n == 0 { throw Errno.ioError }
            base += n
            left -= n
        }
    }

    /// `fstat(2)`.
    public func status() throws(Errno) -> stat {
        var st = stat()
        _ = try retryingInterrupts { fstat(rawValue, &st) }
        return st
    }

    /// `fstatat(2)` of `name` in this directory, not following a symlink.
    public func status(of name: UnsafePointer<CChar>) throws(Errno) -> stat {
        var st = stat()
        _ = try retryingInterrupts { fstatat(rawValue, name, &st, AT_SYMLINK_NOFOLLOW) }
        return st
    }

    #if canImport(Glibc)
    /// `sync_file_range(2)` with `SYNC_FILE_RANGE_WRITE`: starts writeback of `count` bytes at
    /// `offset` without waiting for it. Best effort: pipes and file systems without it just fail.
    public func startWriteback(offset: Int64, count: Int64) {
        _ = linuxSyncFileRange(rawValue, offset, count, 2)
    }
    #endif
}
