#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SystemCalls

/// Where a `TarWriter` sends its bytes (a file, a pipe, a compressor).
///
/// `write` must consume every byte or throw; it is never called with an empty buffer
/// by StreamTar.
public protocol TarByteSink: AnyObject {
    /// Writes all of `bytes`, or throws.
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// Where a `TarReader` gets its bytes (a file, a pipe, a decompressor).
public protocol TarByteSource: AnyObject {
    /// Reads up to `buffer.count` bytes into `buffer` and returns how many were read;
    /// `0` means end of stream. May return fewer bytes than asked for at any time.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// A `TarByteSink` over an open file descriptor (`write(2)`).
///
/// Loops over short writes and retries `EINTR`. Does not own the descriptor: the caller
/// opens and closes it.
public final class FileDescriptorSink: TarByteSink {
    /// The descriptor written to.
    public let fd: Int32
    /// The path named in errors.
    public let path: String

    /// Wraps `fd`; `path` is only used in error messages.
    public init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    /// Writes all of `bytes` with `write(2)`.
    /// - Throws: `TarError` of kind `.io(operation: "write")` carrying `errno` and `path`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        do { try FileDescriptor(rawValue: fd).writeAll(bytes) }
        catch { throw TarError(SystemCallError("write", error, path: path)) }
    }
}

/// A `TarByteSource` over an open file descriptor (`read(2)`).
///
/// Retries `EINTR`. Does not own the descriptor: the caller opens and closes it.
public final class FileDescriptorSource: TarByteSource {
    /// The descriptor read from.
    public let fd: Int32
    /// The path named in errors.
    public let path: String

    /// Wraps `fd`; `path` is only used in error messages.
    public init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    /// Reads once with `read(2)`; returns 0 at end of file.
    /// - Throws: `TarError` of kind `.io(operation: "read")` carrying `errno` and `path`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try readOnce(fd: fd, into: buffer, path: path)
    }
}

/// One `read(2)` (EINTR retried by `FileDescriptor`); the errno becomes a `TarError` naming `path`.
func readOnce(fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws -> Int {
    do { return try FileDescriptor(rawValue: fd).read(into: buffer) }
    catch { throw TarError(SystemCallError("read", error, path: path)) }
}
