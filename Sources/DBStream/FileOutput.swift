import Glibc

/// Writes all of `count` bytes to `fd`, retrying short writes and EINTR.
/// - Throws: ``DBError`` `.io` with errno (e.g. ENOSPC) and the path.
func writeAll(fd: Int32, path: String, _ base: UnsafeRawPointer, _ count: Int) throws {
    var done = 0
    while done < count {
        let n = Glibc.write(fd, base + done, count - done)
        if n < 0 {
            if errno == EINTR { continue }
            throw DBError(.io(errno: errno, path: path, operation: "Cannot write"))
        }
        if n == 0 { throw DBError(.io(errno: EIO, path: path, operation: "Cannot write")) }
        done += n
    }
}
