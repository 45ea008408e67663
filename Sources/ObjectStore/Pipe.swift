import Foundation
import SystemCalls

/// The pipe between a transfer thread and the producer or consumer on the other side: not
/// inherited by child processes (glibc's `pipe2` is not visible to Swift without
/// `_GNU_SOURCE`: `pipe`, then `FD_CLOEXEC` on each end), and 1 MiB deep (`F_SETPIPE_SZ`) for
/// fewer wake-ups between the two sides than the default 64 KiB gives.
func transferPipe() throws -> (read: Int32, write: Int32) {
    var ends: [Int32] = [0, 0]
    guard pipe(&ends) == 0 else { throw S3Error(.transport("cannot create a pipe: \(Errno.current)")) }
    for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    _ = fcntl(ends[1], 1031 /* F_SETPIPE_SZ */, 1 << 20)
    return (ends[0], ends[1])
}
