import Glibc
import SystemCalls

/// Writes all of `count` bytes to `fd`, retrying short writes and EINTR.
/// - Throws: ``DBError`` `.io` with errno (e.g. ENOSPC) and the path.
func writeAll(fd: Int32, path: String, _ base: UnsafeRawPointer, _ count: Int) throws {
    do { try FileDescriptor(rawValue: fd).writeAll(UnsafeRawBufferPointer(start: base, count: count)) }
    catch { throw DBError(.io(errno: error.rawValue, path: path, operation: "Cannot write")) }
}
