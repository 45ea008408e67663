#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A C `errno` value (swift-system's `Errno`): what a failed system call said, with
/// `strerror(3)`'s text as its description.
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    /// The raw `errno` value.
    public let rawValue: Int32

    /// Wraps a raw `errno` value.
    public init(_ rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's `errno` now.
    public static var current: Errno {
        #if canImport(Glibc)
        Errno(Glibc.errno)
        #else
        Errno(Darwin.errno)
        #endif
    }

    /// `strerror(3)` of the value, e.g. "No such file or directory".
    public var description: String { String(cString: strerror(rawValue)) }

    /// `ENOENT`.
    public static let noSuchFile = Errno(ENOENT)
    /// `EINTR`.
    public static let interrupted = Errno(EINTR)
    /// `EIO`.
    public static let ioError = Errno(EIO)
    /// `EACCES`.
    public static let permissionDenied = Errno(EACCES)
    /// `EPERM`.
    public static let notPermitted = Errno(EPERM)
    /// `ELOOP`: what `O_NOFOLLOW` gives for a symlink.
    public static let tooManySymbolicLinks = Errno(ELOOP)
    /// `ENOTDIR`.
    public static let notDirectory = Errno(ENOTDIR)
}

/// A failed system call: which call, its errno, and the path it was about when there is one.
/// The modules above wrap it as their errors' cause, so the errno is never lost in a string.
public struct SystemCallError: Error, Sendable, CustomStringConvertible {
    /// The call's name, e.g. `"openat"`.
    public let call: String
    /// What it failed with.
    public let errno: Errno
    /// The path it was about, if any (bytes shown as UTF-8 with bad sequences repaired).
    public let path: String?

    /// A failure of `call` on `path`.
    public init(_ call: String, _ errno: Errno, path: String? = nil) {
        self.call = call
        self.errno = errno
        self.path = path
    }

    /// `"<path>: <strerror> (<call>)"`, or `"<call>: <strerror>"` without a path.
    public var description: String {
        if let path { return "\(path): \(errno) (\(call))" }
        return "\(call): \(errno)"
    }
}

/// Runs a system call until it is not interrupted: the one EINTR loop. A negative result is
/// the call's failure, with `errno` read at once.
@inline(__always)
public func retryingInterrupts<I: FixedWidthInteger>(_ call: () -> I) throws(Errno) -> I {
    while true {
        let result = call()
        if result >= 0 { return result }
        let err = Errno.current
        if err != .interrupted { throw err }
    }
}
