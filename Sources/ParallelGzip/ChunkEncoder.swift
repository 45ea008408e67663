import CDeflate
import CISAL
import CZlib
import CZstd

/// How one chunk was encoded.
enum ChunkMethod {
    case stored, fast, strong
}

/// One worker's compression engines: ISA-L level 1 (fast), libdeflate (strong; in adaptive mode at
/// level 5 or 6, with zlib level 6 as the trial's yardstick) and a zstd context.
/// (zlib stays the baseline for reading: ``ParallelDecompressor`` inflates foreign streams with it.)
/// Owns every C handle and frees them in `deinit` (and on its own failed set-up).
final class ChunkEncoder {
    /// libdeflate level of the strong engine in adaptive mode. Level 6 matches `gzip -6`'s size
    /// (it is usually 1-2% smaller) at 3-4x zlib's speed.
    static let adaptiveStrongLevel: Int32 = 6
    /// The quicker libdeflate level text chunks get in adaptive mode unless the level trial says
    /// it costs too much. Measured on the benchmark's 147 MB code tar (4 MiB chunks, one core):
    /// level 6 2.14 s user, 1.0092x gzip -6's size; level 5 1.52 s, 1.0244x; level 4 1.19 s,
    /// 1.0289x (too near the 1.03x the code backup must stay within).
    static let adaptiveQuickLevel: Int32 = 5
    /// Level trial: the first `levelTrialLength` bytes of a text chunk are compressed with
    /// libdeflate level 5 and with zlib level 6 (what `gzip -6` runs); when level 5's output is
    /// more than `quickAtMost` times zlib's, the chunk gets libdeflate level 6. Measured on 64 KiB
    /// samples of 4 MiB chunks: PHP-like code 1.003-1.027 (mean 1.012; 4 of 36 chunks go to
    /// level 6), token-random text 1.039-1.046 and `pgzip-bench gen-php` 1.025-1.032, where
    /// level 5 would end 1.053x and 1.060x gzip -6 instead of 1.031x and 1.013x. The trial costs
    /// ~4% of a level-5 pass.
    static let quickAtMost = 1.020
    static let levelTrialLength = 64 << 10
    /// Chunks smaller than this skip the level trial and get level 6.
    static let levelTrialMinimum = 4 * levelTrialLength
    /// Sample trial: chunks whose sample shrinks below this ratio with ISA-L level 1 are text-like and
    /// get the strong engine. Measured: PHP/JS/CSS/SQL sample at 0.25-0.40, JPEG/PNG/MP4 at 0.97-1.0,
    /// so any cut between 0.5 and 0.9 separates them; 0.80 keeps mildly compressible data (binaries) strong.
    static let strongBelowRatio = 0.80
    /// Bytes per sample and samples per chunk of the trial.
    static let sampleLength = 16 << 10
    static let samplesPerChunk = 4

    private let codec: CompressionCodec
    private let level: Int?
    private var isal: UnsafeMutablePointer<isal_zstream>?
    private var isalLevelBuffer: UnsafeMutableRawPointer?
    private var strong: OpaquePointer?
    /// libdeflate at ``adaptiveQuickLevel`` and zlib level 6 (raw deflate) for the level trial;
    /// adaptive mode only.
    private var quick: OpaquePointer?
    private var reference: UnsafeMutablePointer<z_stream>?
    private var zstd: OpaquePointer?
    private var scratch: UnsafeMutableRawPointer?
    private let scratchLength: Int

    init(codec: CompressionCodec, level: Int?) throws {
        self.codec = codec
        self.level = level
        scratchLength = GzipMemberFormat.storedDeflateLength(max(Self.sampleLength, Self.levelTrialLength))
        do {
            switch codec {
            case .gzip:
                isal = .allocate(capacity: 1)
                isalLevelBuffer = .allocate(byteCount: Int(CISAL_LVL1_DEFAULT), alignment: 64)
                let strongLevel = level.map { Int32($0) } ?? Self.adaptiveStrongLevel
                if strongLevel >= 2 {
                    guard let c = libdeflate_alloc_compressor(strongLevel) else {
                        throw CompressionError(.engine, path: "", detail: "libdeflate_alloc_compressor failed")
                    }
                    strong = c
                }
                if level == nil {
                    guard let c = libdeflate_alloc_compressor(Self.adaptiveQuickLevel) else {
                        throw CompressionError(.engine, path: "", detail: "libdeflate_alloc_compressor failed")
                    }
                    quick = c
                    let z = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
                    z.initialize(to: z_stream())
                    guard czlib_deflateInit2(z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK else {
                        z.deallocate()
                        throw CompressionError(.engine, path: "", detail: "deflateInit2 failed")
                    }
                    reference = z
                }
                scratch = .allocate(byteCount: scratchLength, alignment: 16)
            case .zstd:
                guard let c = ZSTD_createCCtx() else {
                    throw CompressionError(.engine, path: "", detail: "ZSTD_createCCtx failed")
                }
                zstd = c
                ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, ZstdFrameFormat.zstdLevel(level))
                ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)
            }
        } catch {
            release()
            throw error
        }
    }

    deinit { release() }

    private func release() {
        isal?.deallocate(); isal = nil
        isalLevelBuffer?.deallocate(); isalLevelBuffer = nil
        if let s = strong { libdeflate_free_compressor(s) }; strong = nil
        if let q = quick { libdeflate_free_compressor(q) }; quick = nil
        if let z = reference { deflateEnd(z); z.deallocate() }; reference = nil
        if let z = zstd { ZSTD_freeCCtx(z) }; zstd = nil
        scratch?.deallocate(); scratch = nil
    }

    /// Bytes of output buffer a chunk of `n` bytes can need with `codec`.
    static func outputCapacity(_ n: Int, codec: CompressionCodec) -> Int {
        switch codec {
        case .gzip:
            return GzipMemberFormat.headerLength + GzipMemberFormat.storedDeflateLength(n) + GzipMemberFormat.trailerLength
        case .zstd:
            return ZstdFrameFormat.prefixLength + ZSTD_compressBound(n)
        }
    }

    /// Scratch bytes each encoder holds besides the chunk buffers (for the memory bound).
    static func workspaceBytes(codec: CompressionCodec, level: Int?, chunkSize: Int) -> Int {
        switch codec {
        case .gzip:
            // ISA-L level buffer and stream state, libdeflate's level 6 matcher (~770 KiB measured by
            // its sizeof), in adaptive mode its level 5 one (the same matcher) and zlib's level 6
            // state (~268 KiB at windowBits 15, memLevel 8), the trial scratch.
            return Int(CISAL_LVL1_DEFAULT) + MemoryLayout<isal_zstream>.size + (level == nil ? 2 : 1) * (800 << 10)
                + (level == nil ? 300 << 10 : 0)
                + GzipMemberFormat.storedDeflateLength(max(sampleLength, levelTrialLength))
        case .zstd:
            // ZSTD_estimateCCtxSize is not in the stable API. zstd sizes its window and match tables
            // to the (known) frame size, so a context stays within a few chunk sizes plus its fixed part.
            return 6 * chunkSize + (1 << 20)
        }
    }

    /// Encodes `input` as one complete member/frame at `out` (capacity from ``outputCapacity(_:codec:)``).
    /// Returns the bytes written and the method.
    func encode(_ input: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) throws -> (Int, ChunkMethod) {
        switch codec {
        case .gzip: return encodeGzip(input, into: out)
        case .zstd: return try encodeZstd(input, into: out)
        }
    }

    private func encodeGzip(_ input: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) -> (Int, ChunkMethod) {
        let n = input.count
        let body = out + GzipMemberFormat.headerLength
        let storedLength = GzipMemberFormat.storedDeflateLength(n)
        var method: ChunkMethod
        switch level {
        case 0?: method = .stored
        case 1?: method = .fast
        case .some: method = .strong
        case nil:
            // No early store on the sample alone: 16 KiB JPEG samples often do not shrink while the
            // whole chunk shrinks ~4% (measured: storing on the sample cost 0.5-1% on the JPEG tar).
            method = n == 0 ? .stored : (sampleRatio(input) < Self.strongBelowRatio ? .strong : .fast)
        }
        // Compressors get one byte less than the stored size: output that does not beat storing is stored.
        var length = 0
        switch method {
        case .fast: length = isalDeflate(input, into: body, capacity: storedLength - 1)
        case .strong: length = libdeflate_deflate_compress(strongEngine(for: input), input.baseAddress, n, body, storedLength - 1)
        case .stored: break
        }
        if length == 0 {
            method = .stored
            length = GzipMemberFormat.writeStored(input, body)
        }
        let crc = n == 0 ? 0 : crc32_gzip_refl(0, input.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt64(n))
        storeLE32(body + length, crc)
        storeLE32(body + length + 4, UInt32(truncatingIfNeeded: n))
        let total = GzipMemberFormat.headerLength + length + GzipMemberFormat.trailerLength
        GzipMemberFormat.writeHeader(out, memberLength: total, uncompressedLength: n)
        return (total, method)
    }

    /// The libdeflate compressor for a text chunk: the forced level's, or in adaptive mode level 5
    /// unless the level trial on the chunk's start finds it too far from zlib level 6.
    private func strongEngine(for input: UnsafeRawBufferPointer) -> OpaquePointer? {
        guard let quick, let z = reference, input.count >= Self.levelTrialMinimum else { return strong }
        let sample = input.baseAddress!
        let q = libdeflate_deflate_compress(quick, sample, Self.levelTrialLength, scratch, scratchLength)
        guard q > 0, deflateReset(z) == Z_OK else { return strong }
        z.pointee.next_in = UnsafeMutablePointer(mutating: sample.assumingMemoryBound(to: UInt8.self))
        z.pointee.avail_in = UInt32(Self.levelTrialLength)
        z.pointee.next_out = scratch!.assumingMemoryBound(to: UInt8.self)
        z.pointee.avail_out = UInt32(scratchLength)
        guard deflate(z, Z_FINISH) == Z_STREAM_END else { return strong }
        return Double(q) <= Double(z.pointee.total_out) * Self.quickAtMost ? quick : strong
    }

    /// ISA-L level 1 ratio over a few samples spread across the chunk.
    private func sampleRatio(_ input: UnsafeRawBufferPointer) -> Double {
        let n = input.count
        let sl = Self.sampleLength
        var inSum = 0, outSum = 0
        if n <= sl * Self.samplesPerChunk {
            var off = 0
            while off < n {
                let len = min(sl, n - off)
                let r = isalDeflate(UnsafeRawBufferPointer(rebasing: input[off..<off + len]), into: scratch!, capacity: scratchLength)
                inSum += len; outSum += r == 0 ? len : r
                off += len
            }
        } else {
            let step = (n - sl) / (Self.samplesPerChunk - 1)
            for i in 0..<Self.samplesPerChunk {
                let off = i * step
                let r = isalDeflate(UnsafeRawBufferPointer(rebasing: input[off..<off + sl]), into: scratch!, capacity: scratchLength)
                inSum += sl; outSum += r == 0 ? sl : r
            }
        }
        return inSum == 0 ? 1 : Double(outSum) / Double(inSum)
    }

    /// Raw deflate with ISA-L level 1, stateless; returns 0 when it does not fit in `capacity`.
    private func isalDeflate(_ input: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer, capacity: Int) -> Int {
        guard let s = isal, capacity > 0 else { return 0 }
        isal_deflate_stateless_init(s)
        s.pointee.level = 1
        s.pointee.level_buf = isalLevelBuffer!.assumingMemoryBound(to: UInt8.self)
        s.pointee.level_buf_size = CISAL_LVL1_DEFAULT
        s.pointee.gzip_flag = UInt16(IGZIP_DEFLATE)
        s.pointee.end_of_stream = 1
        s.pointee.flush = UInt16(NO_FLUSH)
        s.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: UInt8.self))
        s.pointee.avail_in = UInt32(input.count)
        s.pointee.next_out = out.assumingMemoryBound(to: UInt8.self)
        s.pointee.avail_out = UInt32(min(capacity, Int(UInt32.max)))
        let rc = isal_deflate_stateless(s)
        if rc != COMP_OK || s.pointee.avail_in != 0 { return 0 }
        return Int(s.pointee.total_out)
    }

    private func encodeZstd(_ input: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer) throws -> (Int, ChunkMethod) {
        let cap = ZSTD_compressBound(input.count)
        let src = input.baseAddress ?? UnsafeRawPointer(out)  // zstd accepts any pointer for size 0
        let r = ZSTD_compress2(zstd, out + ZstdFrameFormat.prefixLength, cap, src, input.count)
        if ZSTD_isError(r) != 0 {
            throw CompressionError(.engine, path: "", detail: "ZSTD_compress2: " + String(cString: ZSTD_getErrorName(r)))
        }
        ZstdFrameFormat.writePrefix(out, frameLength: r, uncompressedLength: input.count)
        return (ZstdFrameFormat.prefixLength + r, .strong)
    }
}
