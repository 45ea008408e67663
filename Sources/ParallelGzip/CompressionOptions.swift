import Glibc

/// The container a ``ParallelCompressor`` writes.
///
/// - `gzip`: a series of independent gzip members (RFC 1952), each carrying an `FB` extra subfield
///   with its own length (see ``GzipMemberFormat``). Any gzip reader can read it.
/// - `zstd`: a series of zstd frames, each preceded by a skippable frame holding its length
///   (see ``ZstdFrameFormat``). `zstd -d` reads it.
public enum CompressionCodec: String, Sendable {
    case gzip, zstd
}

/// How a ``ParallelCompressor`` cuts, compresses and schedules its input.
///
/// Limits: `threads` is clamped to 1...256 and `chunkSize` to 1 byte...256 MiB by the compressor;
/// `level` must be `nil` or 0...9 (the compressor throws `CompressionError.Kind.invalidOptions` otherwise).
public struct CompressionOptions: Sendable {
    /// The output container. Default `.gzip`.
    public var codec: CompressionCodec = .gzip
    /// `nil` chooses per chunk (gzip: stored, ISA-L level 2 when a sample trial finds it within 1% of
    /// libdeflate level 6, else libdeflate at level 5, or 6 when a trial on the chunk's first 64 KiB
    /// finds level 5 over 2% larger than zlib -6;
    /// zstd: level 3). 0...9 forces one level for every chunk: for gzip 0 writes stored blocks, 1 uses
    /// ISA-L level 1 and 2...9 use libdeflate at that level (a chunk that would grow is stored);
    /// for zstd the levels map to zstd levels -5, 1, 2, 3, 5, 7, 9, 12, 15, 19.
    public var level: Int? = nil
    /// Compression threads. Default: every online core (`sysconf(_SC_NPROCESSORS_ONLN)`).
    public var threads: Int
    /// Bytes of input per member/frame. Default ``CompressionOptions/defaultChunkSize``.
    public var chunkSize: Int
    /// When above 0, the writer asks the kernel to start writing the output to disk after every
    /// `writeBehind` bytes (`sync_file_range(SYNC_FILE_RANGE_WRITE)`, which does not wait), so a
    /// caller's final `fsync` finds little left to do: the disk works while the cores compress.
    /// Measured on the 950 MB media backup: the closing fsync took 0.38-0.43 s without it.
    /// Ignored (with no error) where the output is not a regular file. Default 0 (off).
    public var writeBehind: Int = 0
    /// Write the output with direct I/O (`O_DIRECT`) when it is a regular file, through one
    /// aligned 4 MiB staging buffer (see ``memoryBound``); falls back to ordinary writes where the
    /// file system refuses it. For big archives nobody reads back at once: no page-cache copy,
    /// and the store's cached files stay cached. Default false.
    public var directIO = false

    /// Default chunk size: 4 MiB. Measured on the benchmark's 50 MB PHP-like tar (gzip -6: 6 157 897
    /// bytes), adaptive output by chunk size: 512 KiB 6 374 803, 1 MiB 6 311 443, 2 MiB 6 278 151,
    /// 4 MiB 6 262 262 (each member restarts the 32 KiB window and Huffman statistics); on the
    /// 147 MB code-backup tar at libdeflate level 5, 2 MiB 1.0261x gzip -6, 4 MiB 1.0248x. On JPEG
    /// the size does not change. The pool stays at (2 x threads + 2) x ~8 MiB (48 MiB on 2 cores).
    public static let defaultChunkSize = 4 << 20

    /// The number of online cores, as `sysconf(_SC_NPROCESSORS_ONLN)` reports it (at least 1).
    public static var onlineCores: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Creates options; `nil` picks the default for each field.
    public init(codec: CompressionCodec = .gzip, level: Int? = nil, threads: Int? = nil, chunkSize: Int? = nil) {
        self.codec = codec
        self.level = level
        self.threads = threads ?? CompressionOptions.onlineCores
        self.chunkSize = chunkSize ?? CompressionOptions.defaultChunkSize
    }

    /// Threads clamped to the supported range.
    public var effectiveThreads: Int { min(256, max(1, threads)) }
    /// Chunk size clamped to the supported range.
    public var effectiveChunkSize: Int { min(256 << 20, max(1, chunkSize)) }
    /// Buffers in the pool: two per thread so every worker has one to fill while one waits for the
    /// writer, plus two for the producer and the writer.
    public var poolSlots: Int { 2 * effectiveThreads + 2 }
}
