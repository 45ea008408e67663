/// A path inside a tar archive, kept as the exact bytes stored in the archive.
///
/// Unix file names are byte strings and need not be UTF-8; keeping bytes makes a
/// write-then-extract round trip byte-exact. A path may not contain NUL bytes (no tar format
/// can store them; the writer refuses them).
public struct TarPath: Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The raw path bytes, without any terminator.
    public var bytes: [UInt8]

    /// The UTF-8 bytes of `s`.
    public init(_ s: String) { bytes = Array(s.utf8) }

    /// Exactly `bytes`.
    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// The UTF-8 bytes of the literal.
    public init(stringLiteral value: String) { self.init(value) }

    /// The path as text; bytes that are not valid UTF-8 are shown as `\xNN` escapes.
    public var description: String {
        if let text = String(validatingUTF8Bytes: bytes) { return text }
        var out = ""
        for b in bytes {
            if b < 0x80 { out.unicodeScalars.append(Unicode.Scalar(b)) } else { out += "\\x" + String(b, radix: 16, uppercase: true) }
        }
        return out
    }

    /// True when the bytes are valid UTF-8.
    public var isValidUTF8: Bool { String(validatingUTF8Bytes: bytes) != nil }

    /// True when the path has no bytes.
    public var isEmpty: Bool { bytes.isEmpty }
}

extension String {
    /// Decodes `bytes` as UTF-8, or nil when they are not valid UTF-8.
    init?(validatingUTF8Bytes bytes: [UInt8]) {
        var it = bytes.makeIterator()
        var decoder = UTF8()
        var scalars = String.UnicodeScalarView()
        loop: while true {
            switch decoder.decode(&it) {
            case let .scalarValue(s): scalars.append(s)
            case .emptyInput: break loop
            case .error: return nil
            }
        }
        self = String(scalars)
    }
}
