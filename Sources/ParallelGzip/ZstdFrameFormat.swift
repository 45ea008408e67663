/// The zstd layout ``ParallelCompressor`` writes with `.zstd`.
///
/// Each chunk becomes one zstd frame (content size and XXH64 checksum set), preceded by a skippable
/// frame that states its length, so a reader finds every frame without decompressing. `zstd -d`
/// skips skippable frames, so the output is a plain `.zst` file.
///
/// | Offset | Size | Field                                                |
/// |-------:|-----:|------------------------------------------------------|
/// |      0 |    4 | magic 0x184D2A5B (LE; skippable frame, nibble B)     |
/// |      4 |    4 | frame size = 20 (LE)                                 |
/// |      8 |    4 | tag "FBZF"                                           |
/// |     12 |    8 | length of the zstd frame that follows (LE)           |
/// |     20 |    8 | uncompressed length of that frame (LE)               |
/// |     28 |    n | zstd frame                                           |
public enum ZstdFrameFormat {
    /// Length of the skippable size frame.
    public static let prefixLength = 28
    /// Magic of the skippable size frame.
    public static let skippableMagic: UInt32 = 0x184D_2A5B
    /// Magic of a zstd data frame.
    public static let frameMagic: UInt32 = 0xFD2F_B528
    static let tag: [UInt8] = Array("FBZF".utf8)

    /// Writes the 28-byte size frame at `p`.
    static func writePrefix(_ p: UnsafeMutableRawPointer, frameLength: Int, uncompressedLength: Int) {
        storeLE32(p, skippableMagic)
        storeLE32(p + 4, 20)
        tag.withUnsafeBytes { (p + 8).copyMemory(from: $0.baseAddress!, byteCount: 4) }
        storeLE64(p + 12, UInt64(frameLength))
        storeLE64(p + 20, UInt64(uncompressedLength))
    }

    /// Reads a size frame at the start of `b` (needs 28 bytes); nil when it is not one of ours.
    static func parsePrefix(_ b: UnsafeRawBufferPointer) -> (frame: Int, uncompressed: Int)? {
        guard b.count >= prefixLength, loadLE32(b.baseAddress!) == skippableMagic,
              loadLE32(b.baseAddress! + 4) == 20, Array(b[8..<12]) == tag else { return nil }
        let f = loadLE64(b.baseAddress! + 12), u = loadLE64(b.baseAddress! + 20)
        guard f > 0, f <= UInt64(Int.max), u <= UInt64(Int.max) else { return nil }
        return (Int(f), Int(u))
    }

    /// The zstd level used for option level 0...9.
    static func zstdLevel(_ level: Int?) -> Int32 {
        guard let level else { return 3 }
        return [-5, 1, 2, 3, 5, 7, 9, 12, 15, 19][min(9, max(0, level))]
    }
}
