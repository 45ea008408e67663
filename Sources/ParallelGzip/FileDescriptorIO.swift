import Glibc

/// Linux's sync_file_range(2), which Glibc's module map does not export (it needs _GNU_SOURCE).
@_silgen_name("sync_file_range")
private func linuxSyncFileRange(_ fd: Int32, _ offset: Int64, _ count: Int64, _ flags: UInt32) -> Int32

/// The two system calls the pipelines use, each with its EINTR retry and short-count loop written once.
enum FileDescriptorIO {
    /// Writes all `count` bytes; returns 0 or the `errno` of the failing `write(2)`.
    static func writeAll(_ fd: Int32, _ base: UnsafeRawPointer, _ count: Int) -> Int32 {
        var done = 0
        while done < count {
            let n = Glibc.write(fd, base + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            done += n
        }
        return 0
    }

    /// Starts writeback of `count` bytes at `offset` without waiting for it
    /// (`SYNC_FILE_RANGE_WRITE`). Best effort: pipes and filesystems without support just fail.
    static func startWriteback(_ fd: Int32, offset: Int64, count: Int64) {
        _ = linuxSyncFileRange(fd, offset, count, 2)
    }

    /// Reads up to `count` bytes, retrying EINTR and short reads until `count` or end of file.
    /// Returns the bytes read or `-errno`.
    static func readFull(_ fd: Int32, _ base: UnsafeMutableRawPointer, _ count: Int) -> Int {
        var done = 0
        while done < count {
            let n = Glibc.read(fd, base + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return -Int(errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// One `read(2)` of at most `count` bytes, retrying EINTR. Returns bytes read (0 at end) or `-errno`.
    static func readSome(_ fd: Int32, _ base: UnsafeMutableRawPointer, _ count: Int) -> Int {
        while true {
            let n = Glibc.read(fd, base, count)
            if n < 0 {
                if errno == EINTR { continue }
                return -Int(errno)
            }
            return n
        }
    }
}
