import Glibc
import SystemCalls

/// An error from ``ParallelCompressor`` or ``ParallelDecompressor``.
///
/// It names what went wrong (`kind`), the file (`path`), the byte offset in the compressed stream of
/// the member or frame concerned (`memberOffset`, when known), and the C `errno` for I/O failures.
public struct CompressionError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What went wrong.
    public enum Kind: String, Sendable {
        /// `read(2)` or `write(2)` failed; see `errno`.
        case io
        /// The options cannot be used (level out of 0...9).
        case invalidOptions
        /// The input starts with neither gzip nor zstd magic.
        case notCompressed
        /// A gzip member header is malformed (bad magic, method or flags).
        case badHeader
        /// The compressed data of a member or frame is invalid.
        case corruptData
        /// The CRC-32 (gzip) or checksum (zstd) of a member does not match its data.
        case crcMismatch
        /// The ISIZE of a gzip member, or the size a member claims, does not match its data.
        case lengthMismatch
        /// The input ends inside a member or frame.
        case truncated
        /// Bytes after the last member are not another member.
        case trailingGarbage
        /// A compression engine failed (out of memory, internal error).
        case engine
        /// The object was used after `finish()` or after an earlier error (errors are sticky).
        case closed
    }

    /// What went wrong.
    public var kind: Kind
    /// The file being written or read, as given to the initializer.
    public var path: String
    /// Byte offset of the gzip member or zstd frame in the compressed stream, when one is concerned.
    public var memberOffset: Int64?
    /// The C `errno` for `.io` errors.
    public var errno: Int32?
    /// A short human explanation (for example zlib's or zstd's own message).
    public var detail: String

    /// Creates an error.
    public init(_ kind: Kind, path: String, memberOffset: Int64? = nil, errno: Int32? = nil, detail: String = "") {
        self.kind = kind
        self.path = path
        self.memberOffset = memberOffset
        self.errno = errno
        self.detail = detail
    }

    /// A failed system call as an `.io` error of this module.
    public init(_ cause: SystemCallError, memberOffset: Int64? = nil) {
        self.init(.io, path: cause.path ?? "", memberOffset: memberOffset, errno: cause.errno.rawValue, detail: cause.call)
    }

    /// The failed system call behind an `.io` or `.engine` error (a thread the kernel refused),
    /// for callers that test the errno rather than read the message.
    public var cause: SystemCallError? {
        guard kind == .io || kind == .engine, let errno else { return nil }
        // The detail starts with the call ("read failed at byte offset N", "write failed").
        let call = kind == .engine ? "pthread_create" : detail.split(separator: " ").first.map(String.init) ?? "read"
        return SystemCallError(call, Errno(errno), path: path)
    }

    /// "path: kind at member offset N: detail (strerror)".
    public var description: String {
        var s = "\(path): \(kind.rawValue)"
        if let memberOffset { s += " in member at byte offset \(memberOffset)" }
        if !detail.isEmpty { s += ": \(detail)" }
        if let errno { s += " (\(String(cString: strerror(errno))), errno \(errno))" }
        return s
    }
}

/// The gzip name for ``CompressionError``; the same type serves both codecs.
public typealias GzipError = CompressionError
