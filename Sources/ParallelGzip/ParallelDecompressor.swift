import CISAL
import CZlib
import CZstd
import Dispatch
import ThreadKit

/// A pool buffer of the decompressor: one compressed member (parallel path) and its output.
final class DecompressSlot {
    enum Job {
        case inflateGzip(headerLength: Int)
        case decodeZstd
        case ready
        case end
        case failed(CompressionError)
    }

    private(set) var input: UnsafeMutableRawPointer?
    private(set) var inputCapacity = 0
    private(set) var output: UnsafeMutableRawPointer?
    private(set) var outputCapacity = 0
    var inputCount = 0
    var outputCount = 0
    var readPosition = 0
    var seq = 0
    var memberOffset: Int64 = 0
    var job = Job.ready

    /// Grows the input buffer to at least `n` bytes (callers bound `n` by the parallel limit).
    func reserveInput(_ n: Int) {
        if inputCapacity >= max(n, 1) { return }
        input.map(PoolMemory.deallocate)
        inputCapacity = Self.rounded(n)
        input = PoolMemory.allocate(inputCapacity)
    }

    /// Grows the output buffer to at least `n` bytes.
    func reserveOutput(_ n: Int) {
        if outputCapacity >= max(n, 1) { return }
        output.map(PoolMemory.deallocate)
        outputCapacity = Self.rounded(n)
        output = PoolMemory.allocate(outputCapacity)
    }

    /// A size of 2 MiB or more grows to whole huge pages (never past the parallel limit): a
    /// member's compressed length differs from the last one's by a few bytes, and a buffer
    /// grown to the exact length was allocated afresh, and faulted in again, for most of the
    /// first laps (13,000 page faults of a 73,000-file cache-media rollback).
    static func rounded(_ n: Int) -> Int {
        let n = max(n, 1)
        guard n >= PoolMemory.hugePage else { return n }
        let whole = (n + PoolMemory.hugePage - 1) / PoolMemory.hugePage * PoolMemory.hugePage
        return min(whole, max(n, GzipMemberFormat.parallelLimit))
    }

    deinit {
        input.map(PoolMemory.deallocate)
        output.map(PoolMemory.deallocate)
    }
}

/// Reads a gzip or zstd stream, decompressing members on several threads when it can.
///
/// Gzip: any stream of one or many members, from any tool. Members that carry the `FB` size subfield
/// (``GzipMemberFormat``) and claim at most ``GzipMemberFormat/parallelLimit`` bytes are read whole
/// and inflated in parallel (libdeflate); other members are inflated sequentially, one
/// member at a time (ISA-L; zlib for headers too large for the look-ahead buffer). Every member's
/// CRC-32 and ISIZE are checked.
/// Zstd: frames preceded by this library's size frame (``ZstdFrameFormat``) are decoded in parallel;
/// other frames (any `zstd` output) are streamed sequentially.
///
/// Bytes come out in stream order. A fixed pool of `2 x threads + 2` buffers bounds memory to
/// ``memoryBound(threads:)`` whatever the input size. Errors are delivered in stream order, after all
/// the bytes before the bad member, and are sticky. Not thread-safe: one consumer calls `read`.
public final class ParallelDecompressor {
    /// Bytes per output buffer on the sequential path.
    static let sequentialOutput = 1 << 20
    /// Read buffer of the reader thread; headers larger than half of it go the sequential way.
    static let inputBufferLength = 1 << 20

    private let path: String
    /// Both hold at most the ``slotCount(threads:)`` slots, so a push never waits.
    private let free: BoundedQueue<DecompressSlot>
    private let jobs: BoundedQueue<DecompressSlot>
    private let outbox = OrderedOutbox<DecompressSlot>()
    private let workers = DispatchGroup()
    private let readerDone = DispatchGroup()
    private var current: DecompressSlot?
    private var nextSeq = 0
    private var atEnd = false
    private var stickyError: CompressionError?
    private let stop: StopFlag

    /// The codec found by the magic bytes at the start of the input.
    public let codec: CompressionCodec

    /// Detects gzip or zstd by the first bytes of `inputFD` (read here, so this blocks until they
    /// arrive) and starts the reader and `threads` worker threads (default: every core). `path` names
    /// the input in errors; the descriptor is not closed. Throws `.truncated` for empty input,
    /// `.notCompressed` for other magic, `.io` for a failed read, `.engine` if a context cannot be made.
    public init(inputFD: Int32, path: String, threads: Int? = nil) throws {
        self.path = path
        let input = InputBuffer(fd: inputFD, path: path, capacity: Self.inputBufferLength)
        let have = try input.ensure(4)
        let b = input.bytes
        if b.count == 0 { throw CompressionError(.truncated, path: path, memberOffset: 0, detail: "empty input") }
        if b.count >= 2 && b[0] == 0x1f && b[1] == 0x8b {
            codec = .gzip
        } else if have && Self.isZstdMagic(loadLE32(b.baseAddress!)) {
            codec = .zstd
        } else if !have && b[0] == 0x1f && (b.count < 2 || b[1] == 0x8b) {
            throw CompressionError(.truncated, path: path, memberOffset: 0, detail: "input ends inside the gzip header")
        } else {
            throw CompressionError(.notCompressed, path: path, memberOffset: 0, detail: "neither gzip nor zstd magic")
        }
        let n = min(256, max(1, threads ?? CompressionOptions.onlineCores))
        free = BoundedQueue(capacity: Self.slotCount(threads: n))
        jobs = BoundedQueue(capacity: Self.slotCount(threads: n))
        var decoders: [MemberDecoder] = []
        for _ in 0..<n { decoders.append(try MemberDecoder()) }
        stop = input.stop
        let reader = StreamReader(input: input, codec: codec, free: free, jobs: jobs, outbox: outbox,
                                  zlib: try ZlibGzipInflater(), zstd: try ZstdDecoder())
        for _ in 0..<Self.slotCount(threads: n) { free.push(DecompressSlot()) }
        do {
            try startThreads(decoders, reader: reader)
        } catch {
            jobs.close()
            workers.wait()
            throw error
        }
    }

    /// The workers, then the reader; on a failure the caller stops those already running.
    private func startThreads(_ decoders: [MemberDecoder], reader: StreamReader) throws {
        for (i, decoder) in decoders.enumerated() {
            let jobs = self.jobs, outbox = self.outbox, path = self.path
            try startPipelineThread("pgunzip-worker-\(i)", workers, path: path) {
                while let s = jobs.pop() {
                    let member = UnsafeRawBufferPointer(start: s.input, count: s.inputCount)
                    do {
                        switch s.job {
                        case .inflateGzip(let headerLength):
                            try decoder.inflateMember(member, headerLength: headerLength, into: s.output!,
                                                      expected: s.outputCount, path: path, offset: s.memberOffset)
                        case .decodeZstd:
                            try decoder.decodeFrame(member, into: s.output!, expected: s.outputCount,
                                                    path: path, offset: s.memberOffset)
                        default: break
                        }
                        s.job = .ready
                    } catch let e as CompressionError {
                        s.job = .failed(e)
                    } catch {
                        s.job = .failed(CompressionError(.engine, path: path, detail: "\(error)"))
                    }
                    outbox.put(s.seq, s)
                }
            }
        }
        try startPipelineThread("pgunzip-reader", readerDone, path: path) { reader.run() }
    }

    deinit {
        // Stop the threads before the caller can close (and reuse) the descriptor: the reader stops
        // before its next read(2). A read(2) already waiting on a pipe is waited for.
        stop.set()
        free.close()
        jobs.close()
        outbox.close()
        readerDone.wait()
        workers.wait()
    }

    /// The bytes of buffers a decompressor with `threads` workers can ever hold: the pool's buffers
    /// (each at most ``GzipMemberFormat/parallelLimit`` of input plus as much output; buffers grow only
    /// to the largest member met, so streams from ``ParallelCompressor`` with 2 MiB chunks use ~4 MiB
    /// per buffer) and the read buffer.
    public static func memoryBound(threads: Int? = nil) -> Int {
        let n = min(256, max(1, threads ?? CompressionOptions.onlineCores))
        return slotCount(threads: n) * 2 * GzipMemberFormat.parallelLimit + inputBufferLength
    }

    /// Slots in the pool of a decompressor with `threads` workers: each worker's, as many
    /// waiting for the consumer, and two for the reader to fill meanwhile.
    static func slotCount(threads: Int) -> Int { 2 * threads + 2 }

    static func isZstdMagic(_ m: UInt32) -> Bool {
        m == ZstdFrameFormat.frameMagic || (m & 0xFFFF_FFF0) == 0x184D_2A50
    }

    /// Reads and drops the rest of the stream, so every remaining member is inflated and
    /// checked: what a reader that has all it wants (a tar reader past the end-of-archive blocks)
    /// calls before it counts the stream as whole.
    public func readToEnd() throws {
        let sink = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        defer { sink.deallocate() }
        while try read(into: sink) > 0 {}
    }

    /// Copies the next decompressed bytes into `buffer`; returns how many, 0 at the clean end of the
    /// stream (or for an empty `buffer`). Blocks until bytes are ready. Throws the first error met (typed, with the member's byte offset), then the same error
    /// on every later call.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if let e = stickyError { throw e }
        if atEnd || buffer.count == 0 { return 0 }
        while true {
            if let s = current {
                if s.readPosition < s.outputCount {
                    let n = min(buffer.count, s.outputCount - s.readPosition)
                    buffer.baseAddress!.copyMemory(from: s.output! + s.readPosition, byteCount: n)
                    s.readPosition += n
                    return n
                }
                current = nil
                free.push(s)
            }
            guard let s = outbox.take(nextSeq) else {
                stickyError = CompressionError(.closed, path: path)
                throw stickyError!
            }
            nextSeq += 1
            switch s.job {
            case .ready:
                s.readPosition = 0
                current = s
            case .end:
                atEnd = true
                return 0
            case .failed(let e):
                stickyError = e
                throw e
            default:
                preconditionFailure("undecoded slot in outbox")
            }
        }
    }
}

/// The reader thread: walks the stream member by member, reads members with a size subfield whole
/// into pool buffers for the workers, and inflates the rest itself. Every buffer it sends on carries
/// the next sequence number, so the consumer gets output (and errors) in stream order.
final class StreamReader {
    private let input: InputBuffer
    private let codec: CompressionCodec
    private let free: BoundedQueue<DecompressSlot>
    private let jobs: BoundedQueue<DecompressSlot>
    private let outbox: OrderedOutbox<DecompressSlot>
    private let zlib: ZlibGzipInflater
    private let isal = IsalGzipInflater()
    private let zstd: ZstdDecoder
    private var seq = 0
    private var members = 0

    init(input: InputBuffer, codec: CompressionCodec, free: BoundedQueue<DecompressSlot>,
         jobs: BoundedQueue<DecompressSlot>, outbox: OrderedOutbox<DecompressSlot>,
         zlib: ZlibGzipInflater, zstd: ZstdDecoder) {
        self.input = input
        self.codec = codec
        self.free = free
        self.jobs = jobs
        self.outbox = outbox
        self.zlib = zlib
        self.zstd = zstd
    }

    private var path: String { input.path }

    private func slot() throws -> DecompressSlot {
        guard let s = free.pop() else { throw StopFlag.Stopped() }
        return s
    }

    private func emit(_ s: DecompressSlot) {
        s.seq = seq
        seq += 1
        switch s.job {
        case .inflateGzip, .decodeZstd: jobs.push(s)
        default: outbox.put(s.seq, s)
        }
    }

    func run() {
        do {
            while try input.ensure(1) {
                if codec == .gzip, members > 0, input.bytes[0] == 0 {
                    // NUL padding after the last member (dd conv=sync, tape block sizes): gzip
                    // ignores trailing zeros, and so does this reader; anything else is garbage.
                    try skipZeroPadding()
                    break
                }
                switch codec {
                case .gzip: try gzipMember()
                case .zstd: try zstdFrame()
                }
                members += 1
            }
            let s = try slot()
            s.job = .end
            emit(s)
        } catch let e as CompressionError {
            guard let s = free.pop() else { return }
            s.job = .failed(e)
            emit(s)
        } catch {
            return  // Stopped
        }
    }

    // MARK: gzip

    /// Consumes zero bytes to the end of the input; a non-zero byte among them is trailing garbage.
    private func skipZeroPadding() throws {
        let offset = input.offset
        while try input.ensure(1) {
            let b = input.bytes
            if let i = b.firstIndex(where: { $0 != 0 }) {
                throw CompressionError(.trailingGarbage, path: path, memberOffset: offset + Int64(i),
                                       detail: "bytes after the last member are not gzip")
            }
            input.consume(b.count)
        }
    }

    private func gzipMember() throws {
        let offset = input.offset
        var want = 64
        while true {
            let complete = try input.ensure(want)
            switch GzipMemberFormat.parseHeader(input.bytes) {
            case .needMore:
                if !complete {
                    let b = input.bytes
                    if members > 0 && (b[0] != 0x1f || (b.count > 1 && b[1] != 0x8b)) {
                        throw CompressionError(.trailingGarbage, path: path, memberOffset: offset,
                                               detail: "\(b.count) bytes after the last member are not gzip")
                    }
                    throw CompressionError(.truncated, path: path, memberOffset: offset, detail: "input ends inside a member header")
                }
                if want >= input.capacity / 2 { return try inflateWithZlib(offset) }  // huge FNAME/FEXTRA: let zlib walk it
                want = min(want * 16, input.capacity / 2)
            case .invalid(let why):
                let b = input.bytes
                if members > 0 && !(b[0] == 0x1f && b[1] == 0x8b) {
                    throw CompressionError(.trailingGarbage, path: path, memberOffset: offset,
                                           detail: "bytes after the last member are not gzip")
                }
                throw CompressionError(.badHeader, path: path, memberOffset: offset, detail: why)
            case .valid(let headerLength, let sizes):
                let limit = GzipMemberFormat.parallelLimit
                guard let (memberLength, size) = sizes, memberLength <= limit, size <= limit else {
                    return try inflateWithISAL(offset)
                }
                let s = try slot()
                s.reserveInput(memberLength)
                s.reserveOutput(size)
                let got = try input.read(into: s.input!, count: memberLength)
                if got < memberLength {
                    free.push(s)
                    throw CompressionError(.truncated, path: path, memberOffset: offset,
                                           detail: "input ends \(memberLength - got) bytes before the end of the member")
                }
                s.inputCount = memberLength
                s.outputCount = size
                s.memberOffset = offset
                s.job = .inflateGzip(headerLength: headerLength)
                emit(s)
                return
            }
        }
    }

    /// One call of a streaming inflater: bytes consumed and produced, and whether the member ended.
    private typealias InflateStep = (_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) throws
        -> (consumed: Int, produced: Int, finished: Bool)

    /// Drives one gzip member (or zstd frame, `unit` "frame") through a streaming decoder,
    /// sending full output buffers as it goes. The engines differ only in `step`; buffering,
    /// hand-off and stall detection live here.
    private func inflateMember(_ offset: Int64, unit: String = "member", step: InflateStep) throws {
        var s: DecompressSlot? = nil
        defer { if let s { free.push(s) } }
        while true {
            if input.available == 0, try !input.fillIfEmpty() {
                throw CompressionError(.truncated, path: path, memberOffset: offset, detail: "input ends inside the \(unit)")
            }
            if s == nil {
                s = try slot()
                s!.reserveOutput(ParallelDecompressor.sequentialOutput)
                s!.outputCount = 0
            }
            let out = s!
            let bytes = input.bytes
            let inCount = min(bytes.count, Int(UInt32.max))
            let outBuffer = UnsafeMutableRawBufferPointer(start: out.output! + out.outputCount,
                                                          count: out.outputCapacity - out.outputCount)
            let r = try step(UnsafeRawBufferPointer(rebasing: bytes[0..<inCount]), outBuffer)
            input.consume(r.consumed)
            out.outputCount += r.produced
            if r.finished {
                out.job = .ready
                s = nil
                if out.outputCount > 0 { emit(out) } else { free.push(out) }
                return
            }
            if out.outputCount == out.outputCapacity {
                out.job = .ready
                s = nil
                emit(out)
            } else if r.consumed == 0 && r.produced == 0 && input.available > 0 {
                throw CompressionError(.corruptData, path: path, memberOffset: offset, detail: "inflate made no progress")
            }
        }
    }

    /// Inflates one member with ISA-L.
    private func inflateWithISAL(_ offset: Int64) throws {
        isal.reset()
        let st = isal.state
        try inflateMember(offset) { input, output in
            let availIn = UInt32(input.count), availOut = UInt32(output.count)
            st.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: UInt8.self))
            st.pointee.avail_in = availIn
            st.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
            st.pointee.avail_out = availOut
            let rc = isal_inflate(st)
            if rc < 0 {
                switch rc {
                case ISAL_INCORRECT_CHECKSUM:
                    throw CompressionError(.crcMismatch, path: path, memberOffset: offset, detail: "CRC-32 or ISIZE does not match the data")
                case ISAL_INVALID_WRAPPER, ISAL_UNSUPPORTED_METHOD:
                    throw CompressionError(.badHeader, path: path, memberOffset: offset, detail: "invalid gzip header (ISA-L \(rc))")
                default:
                    throw CompressionError(.corruptData, path: path, memberOffset: offset, detail: "invalid deflate data (ISA-L \(rc))")
                }
            }
            return (Int(availIn - st.pointee.avail_in), Int(availOut - st.pointee.avail_out),
                    st.pointee.block_state == ISAL_BLOCK_FINISH)
        }
    }

    /// Inflates one member with zlib.
    private func inflateWithZlib(_ offset: Int64) throws {
        zlib.reset()
        let z = zlib.stream
        try inflateMember(offset) { input, output in
            let availIn = UInt32(input.count), availOut = UInt32(output.count)
            z.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
            z.pointee.avail_in = availIn
            z.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            z.pointee.avail_out = availOut
            let rc = inflate(z, Z_NO_FLUSH)
            let progress = (Int(availIn - z.pointee.avail_in), Int(availOut - z.pointee.avail_out))
            switch rc {
            case Z_STREAM_END:
                return (progress.0, progress.1, true)
            case Z_OK, Z_BUF_ERROR:
                return (progress.0, progress.1, false)
            default:
                let msg = z.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                let kind: CompressionError.Kind
                switch msg {
                case "incorrect data check": kind = .crcMismatch
                case "incorrect length check": kind = .lengthMismatch
                case "incorrect header check", "unknown compression method", "unknown header flags set": kind = .badHeader
                default: kind = .corruptData
                }
                throw CompressionError(kind, path: path, memberOffset: offset, detail: msg)
            }
        }
    }

    // MARK: zstd

    private func zstdFrame() throws {
        let offset = input.offset
        let complete = try input.ensure(ZstdFrameFormat.prefixLength)
        let b = input.bytes
        if b.count < 4 || !ParallelDecompressor.isZstdMagic(loadLE32(b.baseAddress!)) {
            if members > 0 {
                throw CompressionError(.trailingGarbage, path: path, memberOffset: offset,
                                       detail: "bytes after the last frame are not zstd")
            }
            throw CompressionError(.notCompressed, path: path, memberOffset: offset, detail: "not a zstd frame")
        }
        let limit = GzipMemberFormat.parallelLimit
        if complete, let (frameLength, size) = ZstdFrameFormat.parsePrefix(b), frameLength <= limit, size <= limit {
            input.consume(ZstdFrameFormat.prefixLength)
            let frameOffset = input.offset
            let s = try slot()
            s.reserveInput(frameLength)
            s.reserveOutput(size)
            let got = try input.read(into: s.input!, count: frameLength)
            if got < frameLength {
                free.push(s)
                throw CompressionError(.truncated, path: path, memberOffset: frameOffset,
                                       detail: "input ends \(frameLength - got) bytes before the end of the frame")
            }
            s.inputCount = frameLength
            s.outputCount = size
            s.memberOffset = frameOffset
            s.job = .decodeZstd
            emit(s)
            return
        }
        try decodeZstdSequential(offset)
    }

    /// Streams one zstd frame (or skips one skippable frame) with the streaming decoder.
    private func decodeZstdSequential(_ offset: Int64) throws {
        zstd.reset()
        let ctx = zstd.ctx
        try inflateMember(offset, unit: "frame") { input, output in
            var inb = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
            var outb = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
            let r = ZSTD_decompressStream(ctx, &outb, &inb)
            if ZSTD_isError(r) != 0 {
                throw CompressionError(zstdErrorKind(r), path: self.path, memberOffset: offset, detail: zstdErrorName(r))
            }
            return (inb.pos, outb.pos, r == 0)
        }
    }
}
