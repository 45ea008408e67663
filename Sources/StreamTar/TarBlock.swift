/// The size of every tar block: headers are one block, bodies are padded to a multiple of it.
let tarBlockSize = 512

/// Bytes of zero padding that follow `length` bytes of body so the next header starts on a
/// block boundary. The one padding helper of the package.
@inline(__always)
func tarPadding(_ length: Int64) -> Int64 { (-length) & 511 }

/// One raw 512-byte header block, with the byte ranges of the ustar, GNU and v7 fields.
///
/// Kept apart from `TarHeader` (the model): this type only knows where fields live and how
/// numbers and strings are encoded in them.
struct TarBlock {
    /// Field byte ranges. v7 has name..linkName only; ustar adds magic..prefix; old GNU
    /// (`"ustar  \0"`) has no prefix and stores atime/ctime/sparse data from byte 345 on.
    enum Field {
        static let name = 0..<100
        static let mode = 100..<108
        static let uid = 108..<116
        static let gid = 116..<124
        static let size = 124..<136
        static let mtime = 136..<148
        static let checksum = 148..<156
        static let typeFlag = 156
        static let linkName = 157..<257
        static let magic = 257..<263
        static let version = 263..<265
        static let userName = 265..<297
        static let groupName = 297..<329
        static let devMajor = 329..<337
        static let devMinor = 337..<345
        static let prefix = 345..<500
    }

    /// The on-disk formats a header block can be in, told apart by the magic field.
    enum Flavor { case v7, ustar, gnu }

    var bytes: [UInt8]

    /// An all-zero block.
    init() { bytes = [UInt8](repeating: 0, count: tarBlockSize) }

    /// A block over exactly 512 bytes.
    init(bytes: [UInt8]) {
        precondition(bytes.count == tarBlockSize)
        self.bytes = bytes
    }

    var isZero: Bool { bytes.allSatisfy { $0 == 0 } }

    var flavor: Flavor {
        let magic = bytes[Field.magic]
        if magic.elementsEqual("ustar\0".utf8) { return .ustar }
        if magic.elementsEqual("ustar ".utf8) && bytes[Field.version].elementsEqual(" \0".utf8) { return .gnu }
        return .v7
    }

    /// The sums GNU tar accepts: all bytes with the checksum field read as spaces, summed
    /// as unsigned and as signed chars (old tars on signed-char machines wrote the latter).
    func checksums() -> (unsigned: Int64, signed: Int64) {
        bytes.withUnsafeBufferPointer { b in
            var unsigned = 0
            var signed = 0
            for i in 0..<tarBlockSize {
                unsigned &+= Int(b[i])
                signed &+= Int(Int8(bitPattern: b[i]))
            }
            // The checksum field counts as eight spaces.
            for i in Field.checksum {
                unsigned &-= Int(b[i])
                signed &-= Int(Int8(bitPattern: b[i]))
            }
            return (Int64(unsigned + 8 * 0x20), Int64(signed + 8 * 0x20))
        }
    }

    /// Stores the unsigned checksum the way GNU tar does: six octal digits, NUL, space.
    mutating func storeChecksum() {
        let sum = checksums().unsigned
        var digits = Array(String(sum, radix: 8).utf8)
        while digits.count < 6 { digits.insert(UInt8(ascii: "0"), at: 0) }
        bytes.replaceSubrange(Field.checksum, with: digits + [0, 0x20])
    }

    // MARK: Writing fields

    /// Stores `value` (which must fit) as zero-padded octal digits followed by a NUL.
    mutating func storeOctal(_ value: Int64, _ field: Range<Int>) {
        precondition(value >= 0 && value <= TarBlock.maxOctal(field.count))
        var rest = value
        for i in stride(from: field.upperBound - 2, through: field.lowerBound, by: -1) {
            bytes[i] = UInt8(ascii: "0") + UInt8(rest & 7)
            rest >>= 3
        }
        bytes[field.upperBound - 1] = 0
    }

    /// Stores up to `field.count` bytes of `value`; the rest stays NUL.
    mutating func storeBytes<C: Collection>(_ value: C, _ field: Range<Int>) where C.Element == UInt8 {
        var i = field.lowerBound
        for b in value.prefix(field.count) {
            bytes[i] = b
            i += 1
        }
    }

    /// The largest value an octal field of `width` bytes holds (one byte is the terminator).
    static func maxOctal(_ width: Int) -> Int64 { (Int64(1) << (3 * Int64(width - 1))) - 1 }

    // MARK: Reading fields

    /// The bytes of a string field up to its first NUL.
    func string(_ field: Range<Int>) -> [UInt8] {
        let slice = bytes[field]
        if let end = slice.firstIndex(of: 0) { return Array(bytes[field.lowerBound..<end]) }
        return Array(slice)
    }
}

/// Parses the numeric fields of one header block, remembering only the first failure so
/// callers read every field straight through and check once.
struct TarFieldParser {
    let block: TarBlock
    private(set) var firstError: String?

    init(_ block: TarBlock) { self.block = block }

    /// A numeric field: octal (optionally space/NUL padded) or GNU base-256 (high bit set in
    /// the first byte; two's complement, so negative values are possible). Returns 0 and
    /// records the field name on failure.
    mutating func number(_ field: Range<Int>, _ fieldName: String) -> Int64 {
        if let value = TarFieldParser.parseNumeric(block.bytes[field]) { return value }
        if firstError == nil { firstError = fieldName }
        return 0
    }

    static func parseNumeric(_ b: ArraySlice<UInt8>) -> Int64? {
        guard let first = b.first else { return 0 }
        if first & 0x80 != 0 {
            // Base-256: the remaining 7 bits of the first byte and all later bytes, big-endian;
            // bit 6 of the first byte set means negative (two's complement).
            let invert: UInt8 = first & 0x40 != 0 ? 0xff : 0
            var x: UInt64 = 0
            for (i, raw) in b.enumerated() {
                var c = raw ^ invert
                if i == 0 { c &= 0x7f }
                if x >> 56 != 0 { return nil }
                x = x << 8 | UInt64(c)
            }
            if x >> 63 != 0 { return nil }
            return invert == 0xff ? ~Int64(x) : Int64(x)
        }
        // Octal: leading spaces, then digits, then spaces or NULs to the end.
        var i = b.startIndex
        while i < b.endIndex && b[i] == 0x20 { i += 1 }
        var value: Int64 = 0
        while i < b.endIndex, b[i] >= UInt8(ascii: "0") && b[i] <= UInt8(ascii: "7") {
            if value > (Int64.max >> 3) { return nil }
            value = value << 3 | Int64(b[i] - UInt8(ascii: "0"))
            i += 1
        }
        while i < b.endIndex {
            if b[i] != 0 && b[i] != 0x20 { return nil }
            i += 1
        }
        return value  // an all-blank field is 0, as GNU tar and Go read it
    }
}
