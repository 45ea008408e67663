/// ParallelGzip: parallel multi-member gzip and zstd compression, and parallel decompression.
///
/// ``ParallelCompressor`` cuts a byte stream into chunks and compresses them on several threads into
/// independent gzip members (``GzipMemberFormat``) or zstd frames (``ZstdFrameFormat``) that record
/// their own sizes; ``ParallelDecompressor`` reads any gzip or zstd stream and uses those sizes to
/// decompress members in parallel.
///
/// Bounds (read at start-up; a `--verbose` caller can print them):
///
/// | Resource                | Compressor                                   | Decompressor                                     |
/// |-------------------------|----------------------------------------------|--------------------------------------------------|
/// | threads                 | `threads` workers (default: online cores) + 1 writer | `threads` workers (default: online cores) + 1 reader |
/// | buffers                 | 2 x threads + 2 chunks, each chunk + its worst-case member | 2 x threads + 2, each <= 8 MiB in + 8 MiB out |
/// | bytes                   | ``ParallelCompressor/memoryBound(_:)`` (27 568 248 bytes at 2 threads, 2 MiB chunks) | ``ParallelDecompressor/memoryBound(threads:)`` (<= 97 MiB at 2 threads; ~25 MiB on this library's output) |
/// | member/frame size       | chunk <= 256 MiB                             | whole-member reads only up to 8 MiB; larger members stream |
///
/// Engines: ISA-L level 2 (fast deflate; level 1 when forced), ISA-L CRC-32, libdeflate level 6 (strong deflate and whole-member
/// inflate), ISA-L inflate (streaming, foreign members), zlib (streaming, members with headers over
/// 512 KiB), libzstd.
public enum ParallelGzip {}
