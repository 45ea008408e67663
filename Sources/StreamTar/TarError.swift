#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SystemCalls

/// The error every StreamTar operation throws.
///
/// It carries what a person needs to act on it: what went wrong (`kind`), the entry it
/// concerns when known, the byte offset in the tar stream where it was found, and for
/// system-call failures the `errno` value and the file path.
public struct TarError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Hashable, Sendable {
        /// The stream ended inside a header block, an extension record or an entry body.
        case truncated
        /// A header block's stored checksum matches neither its unsigned nor its signed byte sum.
        case badChecksum(stored: Int64, unsigned: Int64, signed: Int64)
        /// A numeric header field (named) is not octal, not valid base-256, or out of range.
        case invalidNumber(field: String)
        /// A pax extended-header record is malformed (wrong length, missing `=`, bad value).
        case invalidPAXRecord(String)
        /// A pax header or GNU long name claims more bytes than the reader accepts.
        case extensionTooLarge(size: Int64, limit: Int64)
        /// Extension headers (pax `x`, GNU `L`/`K`) were not followed by the entry they describe.
        case missingEntryAfterExtension
        /// A zero block was followed by a non-zero block: the archive is damaged or not one archive.
        case dataAfterZeroBlock
        /// A system call failed; `errno` and `path` say which and where.
        case io(operation: String)
        /// The writer cannot represent this header (reason given), e.g. a NUL byte in a name.
        case unrepresentable(String)
        /// `writeHeader` or `finish` was called before the previous body was complete.
        case previousBodyIncomplete(remaining: Int64)
        /// `writeBody` was given more bytes than the header's size leaves.
        case bodyTooLong(size: Int64, attempted: Int64)
        /// The writer was used after `finish()`.
        case writerFinished
    }

    /// What went wrong.
    public var kind: Kind
    /// The entry the error concerns, when known.
    public var entry: TarPath?
    /// Byte offset in the tar stream where the problem was found, when known.
    public var offset: Int64?
    /// The `errno` value of a failed system call.
    public var errno: Int32?
    /// The file the failed system call worked on.
    public var path: String?

    /// Creates an error; every context field is optional.
    public init(_ kind: Kind, entry: TarPath? = nil, offset: Int64? = nil, errno: Int32? = nil, path: String? = nil) {
        self.kind = kind
        self.entry = entry
        self.offset = offset
        self.errno = errno
        self.path = path
    }

    /// A failed system call as an error of this module: `.io`, with the call, errno and path.
    public init(_ cause: SystemCallError, entry: TarPath? = nil, offset: Int64? = nil) {
        self.init(.io(operation: cause.call), entry: entry, offset: offset, errno: cause.errno.rawValue, path: cause.path)
    }

    /// The failed system call behind an `.io` error: the cause a caller can test (`errno`)
    /// without reading the message.
    public var cause: SystemCallError? {
        guard case .io(let operation) = kind, let errno else { return nil }
        return SystemCallError(operation, Errno(errno), path: path)
    }

    /// A one-line, human-readable explanation including every known piece of context.
    public var description: String {
        var text: String
        switch kind {
        case .truncated: text = "archive is truncated"
        case let .badChecksum(stored, unsigned, signed):
            text = "header checksum mismatch (stored \(stored), computed \(unsigned) unsigned / \(signed) signed)"
        case let .invalidNumber(field): text = "invalid number in header field '\(field)'"
        case let .invalidPAXRecord(why): text = "invalid pax record: \(why)"
        case let .extensionTooLarge(size, limit): text = "extension header of \(size) bytes exceeds the \(limit)-byte limit"
        case .missingEntryAfterExtension: text = "extension header is not followed by an entry"
        case .dataAfterZeroBlock: text = "non-zero block after a zero block (damaged archive)"
        case let .io(operation): text = "\(operation) failed"
        case let .unrepresentable(why): text = "cannot write header: \(why)"
        case let .previousBodyIncomplete(remaining): text = "previous entry's body is incomplete (\(remaining) bytes missing)"
        case let .bodyTooLong(size, attempted): text = "body would exceed the header size \(size) (attempted \(attempted) bytes)"
        case .writerFinished: text = "the writer is already finished"
        }
        if let entry { text += ", entry \"\(entry)\"" }
        if let offset { text += ", at byte \(offset)" }
        if let path { text += ", path \(path)" }
        if let errno { text += ": \(String(cString: strerror(errno))) (errno \(errno))" }
        return "tar: " + text
    }
}
