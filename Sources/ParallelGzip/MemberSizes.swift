/// The sizes a member of a stream written by ``ParallelCompressor`` states about itself: the
/// gzip header's `FB` subfield, or the `FBZF` skippable frame before a zstd frame. The
/// decompressor finds members with the same parsers; a caller can sum a file's expanded size with one read
/// of ``probeLength`` bytes per member and no inflating.
public enum MemberSizes {
    /// Bytes at a member's start that ``parse(_:)`` needs.
    public static let probeLength = max(GzipMemberFormat.headerLength, ZstdFrameFormat.prefixLength)

    /// The bytes from this member's start to the next one's, and what it inflates to; nil when
    /// the member states no sizes (a foreign gzip member, a bare zstd frame) or the bytes are
    /// not a member's start.
    public static func parse(_ b: UnsafeRawBufferPointer) -> (memberLength: Int, uncompressedLength: Int)? {
        if b.count >= 2 && b[0] == 0x1f && b[1] == 0x8b {
            guard case .valid(_, let sizes?) = GzipMemberFormat.parseHeader(b) else { return nil }
            return (sizes.member, sizes.uncompressed)
        }
        guard let (frame, size) = ZstdFrameFormat.parsePrefix(b), frame <= Int.max - ZstdFrameFormat.prefixLength else { return nil }
        return (ZstdFrameFormat.prefixLength + frame, size)
    }
}
