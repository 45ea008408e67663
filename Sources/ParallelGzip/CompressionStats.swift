/// What a ``ParallelCompressor`` wrote, returned by ``ParallelCompressor/finish()``.
public struct CompressionStats: Sendable, Equatable {
    /// Bytes given to `write(_:)`.
    public var inputBytes: Int64 = 0
    /// Bytes written to the output descriptor.
    public var outputBytes: Int64 = 0
    /// Gzip members or zstd data frames written.
    public var members: Int = 0
    /// Members written as stored deflate blocks (data that would not shrink).
    public var storedMembers: Int = 0
    /// Members compressed with the fast engine (ISA-L level 2; level 1 when forced).
    public var fastMembers: Int = 0
    /// Members compressed with the strong engine (libdeflate, or zstd frames).
    public var strongMembers: Int = 0
    /// Worker threads used.
    public var threads: Int = 0
    /// Input bytes per member.
    public var chunkSize: Int = 0
    /// Output bytes written with direct I/O (``CompressionOptions/directIO``).
    public var directBytes: Int64 = 0

    /// Output size divided by input size (1.0 for empty input).
    public var ratio: Double { inputBytes == 0 ? 1 : Double(outputBytes) / Double(inputBytes) }
}
