import Dispatch
import SystemCalls
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Stack sizes of the threads the targets start, in one place. The pipelines' threads recurse
/// little and keep their buffers on the heap; glibc's default (8 MiB of address space each, from
/// RLIMIT_STACK) would count against `ulimit -v` for nothing.
public enum ThreadStack {
    /// Removal threads: a loop over one folder's entries.
    public static let small = 256 << 10
    /// Pipeline workers: compression, readers, writers, database connections.
    public static let standard = 1 << 20
    /// The tar emitter, which formats PAX records and walks folders on its own stack.
    public static let deep = 4 << 20
}

private final class ThreadStart {
    let name: String
    let body: () -> Void
    init(name: String, body: @escaping () -> Void) { self.name = name; self.body = body }
}

/// Starts a detached thread named `name` (as `top -H`, `perf` and core dumps show it) with a
/// stack of `stackSize` bytes; `group`, when given, is entered now and left when `body` returns.
///
/// The one way the targets start a thread. It throws instead of trapping when the kernel
/// refuses (RLIMIT_NPROC reached, no memory for the stack): the caller stops what it started
/// and reports the errno.
public func startThread(named name: String, stackSize: Int, group: DispatchGroup? = nil,
                        _ body: @escaping () -> Void) throws(SystemCallError) {
    group?.enter()
    let start = ThreadStart(name: name) { body(); group?.leave() }
    var attr = pthread_attr_t()
    pthread_attr_init(&attr)
    defer { pthread_attr_destroy(&attr) }
    pthread_attr_setstacksize(&attr, stackSize)
    pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
    #if canImport(Glibc)
    var tid = pthread_t()
    #else
    var tid: pthread_t?
    #endif
    let context = Unmanaged.passRetained(start)
    let rc = pthread_create(&tid, &attr, { arg in
        let s = Unmanaged<ThreadStart>.fromOpaque(arg!).takeRetainedValue()
        nameThisThread(s.name)
        s.body()
        return nil
    }, context.toOpaque())
    if rc != 0 {
        context.release()
        group?.leave()
        throw SystemCallError("pthread_create", Errno(rc), path: name)
    }
}

/// Glibc's `pthread_setname_np` is not visible to Swift without `_GNU_SOURCE`; the kernel takes
/// the same name through `/proc/thread-self/comm` (15 bytes at most). Best effort: a missing
/// /proc only loses the name.
private func nameThisThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return }
    var bytes = Array(name.utf8.prefix(15))
    _ = write(fd, &bytes, bytes.count)
    close(fd)
}
