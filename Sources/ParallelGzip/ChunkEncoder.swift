import CDeflate
import CISAL
import CZlib
import CZstd

/// How one chunk was encoded.
enum ChunkMethod {
    case stored, fast, strong
}

/// One worker's compression engines: ISA-L level 2 (fast; level 1 when forced), libdeflate (strong; in adaptive mode at
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
    /// A chunk below ``strongBelowRatio`` still goes to the fast engine when its output on the
    /// samples is at most this times the strong engine's at level 6 (libdeflate level 6 is 1-2%
    /// smaller than zlib's, so the chunk ends near or under `gzip -6`'s size).
    static let fastWithin = 1.01
    /// Bytes per sample and samples per chunk of the trial.
    static let sampleLength = 16 << 10
    static let samplesPerChunk = 4

    /// ISA-L level of the fast engine: 2 unless `--level 1` asks for 1. On the resized image cache of
    /// a store (Benchmarks' cache-media tree, 705 MB of JPEG thumbnails in a tar) ISA-L level 2 gives
    /// 1.0073x `gzip -6`'s size at the same speed as level 1 (1.61 vs 1.69 s user, igzip), which
    /// gives 1.0131x; libdeflate at any level costs 3.5-4x the CPU there. On full-size photos the
    /// two levels are alike (1.0071x and 1.0074x, 0.15 vs 0.17 s for the corpus's 84 MB).
    static func fastLevel(forced level: Int?) -> UInt32 { level == 1 ? 1 : 2 }
    /// Level buffer bytes for that level (ISA-L's "large" size: 64 Ki tokens).
    static func fastLevelBufferSize(forced level: Int?) -> Int {
        Int(fastLevel(forced: level) == 1 ? CISAL_LVL1_DEFAULT : CISAL_LVL2_DEFAULT)
    }

    private let codec: CompressionCodec
    private let level: Int?
    private let fastLevel: UInt32
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
        fastLevel = Self.fastLevel(forced: level)
        scratchLength = GzipMemberFormat.storedDeflateLength(max(Self.sampleLength, Self.levelTrialLength))
        do {
            switch codec {
            case .gzip:
                isal = .allocate(capacity: 1)
                isalLevelBuffer = .allocate(byteCount: Self.fastLevelBufferSize(forced: level), alignment: 64)
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
            return fastLevelBufferSize(forced: level) + MemoryLayout<isal_zstream>.size + (level == nil ? 2 : 1) * (800 << 10)
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
            method = n == 0 ? .stored : chooseMethod(input)
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

    /// The cheapest engine whose output the samples say stays within the size bound.
    ///
    /// Chunks whose samples barely shrink with the fast engine (photos) get it: nothing stronger
    /// gains enough to pay. The rest are tried on the same samples with the strong engine at
    /// level 6 too, and still go to the fast engine when its output is within ``fastWithin`` of
    /// level 6's: a store's resized image cache (JPEG thumbnails from GD, standard Huffman tables,
    /// each file's tables repeated in its header) shrinks 10-25%, mostly through what ISA-L
    /// level 2 finds as well. Text is 1.4-1.6x larger with it and goes to the strong engine.
    private func chooseMethod(_ input: UnsafeRawBufferPointer) -> ChunkMethod {
        let fast = sampleRatio(input) { sample in self.isalDeflate(sample, into: self.scratch!, capacity: self.scratchLength) }
        if fast >= Self.strongBelowRatio { return .fast }
        guard let strong else { return .fast }
        let slow = sampleRatio(input) { sample in
            libdeflate_deflate_compress(strong, sample.baseAddress, sample.count, self.scratch, self.scratchLength)
        }
        return fast <= slow * Self.fastWithin ? .fast : .strong
    }

    /// The ratio `compress` gives over a few samples spread across the chunk (a sample it
    /// cannot shrink counts at its own size).
    private func sampleRatio(_ input: UnsafeRawBufferPointer, _ compress: (UnsafeRawBufferPointer) -> Int) -> Double {
        let n = input.count
        let sl = Self.sampleLength
        var inSum = 0, outSum = 0
        func add(_ range: Range<Int>) {
            let r = compress(UnsafeRawBufferPointer(rebasing: input[range]))
            inSum += range.count; outSum += r == 0 ? range.count : r
        }
        if n <= sl * Self.samplesPerChunk {
            var off = 0
            while off < n { add(off..<min(n, off + sl)); off += sl }
        } else {
            let step = (n - sl) / (Self.samplesPerChunk - 1)
            for i in 0..<Self.samplesPerChunk { add((i * step)..<(i * step + sl)) }
        }
        return inSum == 0 ? 1 : Double(outSum) / Double(inSum)
    }

    /// Raw deflate with the fast engine's ISA-L level, stateless; returns 0 when it does not fit in `capacity`.
    private func isalDeflate(_ input: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer, capacity: Int) -> Int {
        guard let s = isal, capacity > 0 else { return 0 }
        isal_deflate_stateless_init(s)
        s.pointee.level = fastLevel
        s.pointee.level_buf = isalLevelBuffer!.assumingMemoryBound(to: UInt8.self)
        s.pointee.level_buf_size = UInt32(Self.fastLevelBufferSize(forced: level))
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
