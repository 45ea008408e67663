import CZlib
/// The gzip member layout ``ParallelCompressor`` writes, and a general RFC 1952 header parser.
///
/// Every member is an ordinary gzip member whose header sets FEXTRA and carries one subfield,
/// ID `'F','B'` (0x46 0x42), so a reader finds each member boundary without inflating, the way
/// BGZF's `BC` subfield (SAM spec 4.1) does, but with 64-bit sizes:
///
/// | Offset | Size | Field                                                      |
/// |-------:|-----:|------------------------------------------------------------|
/// |      0 |    2 | ID1 ID2 = 1f 8b                                            |
/// |      2 |    1 | CM = 8 (deflate)                                           |
/// |      3 |    1 | FLG = 0x04 (FEXTRA)                                        |
/// |      4 |    4 | MTIME = 0 (the tar inside carries the times)               |
/// |      8 |    1 | XFL = 0                                                    |
/// |      9 |    1 | OS = 3 (Unix)                                              |
/// |     10 |    2 | XLEN = 20 (LE)                                             |
/// |     12 |    2 | SI1 SI2 = 'F' 'B'                                          |
/// |     14 |    2 | LEN = 16 (LE)                                              |
/// |     16 |    8 | member length in bytes, header to trailer inclusive (LE)   |
/// |     24 |    8 | uncompressed length of the member (LE)                     |
/// |     32 |    n | raw deflate data                                           |
/// |   32+n |    4 | CRC-32 of the uncompressed data (LE)                       |
/// |   36+n |    4 | ISIZE = uncompressed length mod 2^32 (LE)                  |
///
/// Limits: a member holds at most 256 MiB of input (the compressor's chunk limit). Readers that do
/// not know the subfield skip it, as RFC 1952 requires. The decompressor trusts the sizes only up to
/// ``GzipMemberFormat/parallelLimit``; a member claiming more is inflated sequentially instead.
public enum GzipMemberFormat {
    /// Length of the header this library writes.
    public static let headerLength = 32
    /// Length of the gzip trailer (CRC-32, ISIZE).
    public static let trailerLength = 8
    /// Subfield ID bytes.
    public static let subfieldID: (UInt8, UInt8) = (0x46, 0x42)
    /// A member whose claimed compressed or uncompressed length exceeds this (8 MiB) is not read
    /// whole into memory; it is inflated sequentially.
    public static let parallelLimit = 8 << 20

    /// Writes the 32-byte header at `p`.
    static func writeHeader(_ p: UnsafeMutableRawPointer, memberLength: Int, uncompressedLength: Int) {
        let fixed: [UInt8] = [0x1f, 0x8b, 8, 0x04, 0, 0, 0, 0, 0, 3, 20, 0, 0x46, 0x42, 16, 0]
        fixed.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: 16) }
        storeLE64(p + 16, UInt64(memberLength))
        storeLE64(p + 24, UInt64(uncompressedLength))
    }

    /// Size of `n` bytes as stored deflate blocks (5 header bytes per block of up to 65535 bytes).
    static func storedDeflateLength(_ n: Int) -> Int {
        n + 5 * max(1, (n + 65534) / 65535)
    }

    /// Writes `input` as stored deflate blocks at `out`; returns the length (``storedDeflateLength(_:)``).
    static func writeStored(_ input: UnsafeRawBufferPointer, _ out: UnsafeMutableRawPointer) -> Int {
        var o = 0, i = 0
        let n = input.count
        repeat {
            let len = min(65535, n - i)
            let last = i + len == n
            out.storeBytes(of: last ? 1 : 0, toByteOffset: o, as: UInt8.self)
            out.storeBytes(of: UInt8(len & 0xff), toByteOffset: o + 1, as: UInt8.self)
            out.storeBytes(of: UInt8(len >> 8), toByteOffset: o + 2, as: UInt8.self)
            out.storeBytes(of: UInt8(~len & 0xff), toByteOffset: o + 3, as: UInt8.self)
            out.storeBytes(of: UInt8((~len >> 8) & 0xff), toByteOffset: o + 4, as: UInt8.self)
            if len > 0 { (out + o + 5).copyMemory(from: input.baseAddress! + i, byteCount: len) }
            o += 5 + len
            i += len
        } while i < n
        return o
    }

    /// What ``parseHeader(_:)`` found.
    enum Header {
        /// More bytes are needed to see the whole header.
        case needMore
        /// Not a valid gzip header.
        case invalid(String)
        /// A header of `length` bytes; `sizes` is set when the `FB` subfield is present and sane.
        case valid(length: Int, sizes: (member: Int, uncompressed: Int)?)
    }

    /// Parses an RFC 1952 header (any flags: FEXTRA, FNAME, FCOMMENT, FHCRC) at the start of `b`.
    static func parseHeader(_ b: UnsafeRawBufferPointer) -> Header {
        if b.count < 10 { return .needMore }
        if b[0] != 0x1f || b[1] != 0x8b { return .invalid("not gzip magic") }
        if b[2] != 8 { return .invalid("compression method \(b[2]) is not deflate") }
        let flg = b[3]
        if flg & 0xe0 != 0 { return .invalid("reserved header flags set (0x\(String(flg, radix: 16)))") }
        var pos = 10
        var sizes: (Int, Int)? = nil
        if flg & 0x04 != 0 {
            if b.count < pos + 2 { return .needMore }
            let xlen = Int(b[pos]) | Int(b[pos + 1]) << 8
            pos += 2
            if b.count < pos + xlen { return .needMore }
            var s = pos
            let end = pos + xlen
            while s + 4 <= end {
                let len = Int(b[s + 2]) | Int(b[s + 3]) << 8
                if s + 4 + len > end { break }
                if b[s] == subfieldID.0 && b[s + 1] == subfieldID.1 && len == 16 {
                    let m = loadLE64(b.baseAddress! + s + 4), u = loadLE64(b.baseAddress! + s + 12)
                    if m <= UInt64(Int.max) && u <= UInt64(Int.max) { sizes = (Int(m), Int(u)) }
                }
                s += 4 + len
            }
            pos = end
        }
        for flag in [UInt8(0x08), 0x10] where flg & flag != 0 {  // FNAME, FCOMMENT: zero-terminated
            while true {
                if pos >= b.count { return .needMore }
                pos += 1
                if b[pos - 1] == 0 { break }
            }
        }
        if flg & 0x02 != 0 {  // FHCRC: the low 16 bits of the CRC-32 of the header before it
            pos += 2
            if pos > b.count { return .needMore }
            let stored = UInt32(b[pos - 2]) | UInt32(b[pos - 1]) << 8
            let computed = UInt32(crc32(0, b.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt32(pos - 2)) & 0xFFFF)
            if stored != computed { return .invalid("header CRC is \(hex(stored)), the header's own is \(hex(computed))") }
        }
        if let (m, _) = sizes, m < pos + trailerLength + 1 { sizes = nil }  // impossible length: ignore it
        return .valid(length: pos, sizes: sizes)
    }
}

@inline(__always) func storeLE64(_ p: UnsafeMutableRawPointer, _ v: UInt64) {
    p.storeBytes(of: v.littleEndian, as: UInt64.self)
}
@inline(__always) func storeLE32(_ p: UnsafeMutableRawPointer, _ v: UInt32) {
    p.storeBytes(of: v.littleEndian, as: UInt32.self)
}
@inline(__always) func loadLE64(_ p: UnsafeRawPointer) -> UInt64 {
    UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))
}
@inline(__always) func loadLE32(_ p: UnsafeRawPointer) -> UInt32 {
    UInt32(littleEndian: p.loadUnaligned(as: UInt32.self))
}
