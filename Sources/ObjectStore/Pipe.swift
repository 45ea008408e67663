import Foundation

/// A pipe whose ends are not inherited by child processes (glibc's `pipe2` is not visible to
/// Swift without `_GNU_SOURCE`; `pipe` then `FD_CLOEXEC` on each end, before any thread of
/// ours could fork). Returns false with `errno` set.
func makePipe(_ ends: inout [Int32]) -> Bool {
    guard pipe(&ends) == 0 else { return false }
    for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return true
}
