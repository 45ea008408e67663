import Dispatch
import SystemCalls
import ThreadKit
import Glibc

/// A pool buffer: one chunk of input and room for its compressed member.
final class CompressSlot {
    let input: UnsafeMutableRawPointer
    let output: UnsafeMutableRawPointer
    var inputCount = 0
    var outputCount = 0
    var seq = 0
    var method = ChunkMethod.stored
    var error: CompressionError?
    var isEnd = false

    init(chunkSize: Int, outputCapacity: Int) {
        input = PoolMemory.allocate(chunkSize)
        // Huge pages here too: on the 84 MB JPEG tar small output pages cost 6,000 more faults
        // per run and ~10% more CPU (225-232 vs 254-326 ms). A text member fills a fifth of this
        // buffer, so on text a huge page holds ~1 MiB more than needed: +12 MB peak RSS on a code
        // backup (6 slots), inside memoryBound, which counts the whole buffer.
        output = PoolMemory.allocate(outputCapacity)
    }

    deinit {
        PoolMemory.deallocate(input)
        PoolMemory.deallocate(output)
    }
}

/// Compresses a byte stream into a gzip (or zstd) file on several threads, pigz style.
///
/// The input is cut into chunks of `options.chunkSize` bytes. Each chunk becomes one independent
/// gzip member (``GzipMemberFormat``) or zstd frame (``ZstdFrameFormat``), compressed by one of
/// `options.threads` workers, and a single writer thread emits the members in input order.
/// A fixed pool of `2 x threads + 2` chunk buffers throttles the producer: ``write(_:)`` blocks while
/// every buffer is in flight, so memory is ``memoryBound(_:)`` whatever the input size.
///
/// Errors are sticky: after a failed write, every later call throws the first error.
/// Not thread-safe: one producer thread calls `write` and `finish`.
public final class ParallelCompressor {
    private let path: String
    /// The options this compressor runs with (as given; threads and chunk size are clamped in use).
    public let options: CompressionOptions
    private let chunkSize: Int
    /// Both hold at most the pool's slots, so a push never waits.
    private let free: BoundedQueue<CompressSlot>
    private let jobs: BoundedQueue<CompressSlot>
    private let outbox = OrderedOutbox<CompressSlot>()
    private let workers = DispatchGroup()
    private let writerDone = DispatchGroup()
    private let writer: MemberWriter
    private var current: CompressSlot?
    private var nextSeq = 0
    private var finished = false
    private var inputBytes: Int64 = 0
    private var readError: CompressionError?

    /// Starts the worker and writer threads writing to `outputFD` (not closed by this class).
    /// `path` names the output in errors. Throws `.invalidOptions` for a level outside 0...9, and
    /// `.engine` when a compression context cannot be created.
    public init(outputFD: Int32, path: String, options: CompressionOptions) throws {
        if let l = options.level, !(0...9).contains(l) {
            throw CompressionError(.invalidOptions, path: path, detail: "level \(l) is not in 0...9")
        }
        self.path = path
        self.options = options
        free = BoundedQueue(capacity: options.poolSlots)
        jobs = BoundedQueue(capacity: options.poolSlots)
        chunkSize = options.effectiveChunkSize
        let threads = options.effectiveThreads
        var encoders: [ChunkEncoder] = []
        do {
            for _ in 0..<threads { encoders.append(try ChunkEncoder(codec: options.codec, level: options.level)) }
        } catch var e as CompressionError {
            e.path = path
            throw e
        }
        let capacity = ChunkEncoder.outputCapacity(chunkSize, codec: options.codec)
        for _ in 0..<options.poolSlots { free.push(CompressSlot(chunkSize: chunkSize, outputCapacity: capacity)) }
        writer = MemberWriter(path: path, free: free, outbox: outbox,
                              output: MemberOutput(fd: outputFD, direct: options.directIO, writeBehind: options.writeBehind))
        writer.stats.threads = threads
        writer.stats.chunkSize = chunkSize
        do {
            try startThreads(encoders)
        } catch {
            jobs.close()
            workers.wait()
            throw error
        }
    }

    /// The workers, then the writer; on a failure the caller stops those already running.
    private func startThreads(_ encoders: [ChunkEncoder]) throws {
        for (i, encoder) in encoders.enumerated() {
            let jobs = self.jobs, outbox = self.outbox, path = self.path
            try startPipelineThread("pgzip-worker-\(i)", workers, path: path) {
                while let slot = jobs.pop() {
                    do {
                        let r = try encoder.encode(UnsafeRawBufferPointer(start: slot.input, count: slot.inputCount), into: slot.output)
                        slot.outputCount = r.0
                        slot.method = r.1
                    } catch var e as CompressionError {
                        e.path = path
                        slot.error = e
                    } catch {
                        slot.error = CompressionError(.engine, path: path, detail: "\(error)")
                    }
                    outbox.put(slot.seq, slot)
                }
            }
        }
        let writer = self.writer
        try startPipelineThread("pgzip-writer", writerDone, path: path) { writer.run() }
    }

    deinit {
        if !finished {
            // Abandoned without finish(): stop the threads; members already written stay written.
            stopThreads()
        }
    }

    /// Ends the writer after the members submitted so far, then the workers.
    private func stopThreads() {
        outbox.put(nextSeq, endSlot())
        writerDone.wait()
        jobs.close()
        workers.wait()
    }

    /// The bytes of buffers a compressor with `options` can ever hold: the pool's chunk and output
    /// buffers plus each worker's engine workspace. It depends only on the chunk size and thread count.
    public static func memoryBound(_ options: CompressionOptions) -> Int {
        let chunk = options.effectiveChunkSize
        return options.poolSlots * (chunk + ChunkEncoder.outputCapacity(chunk, codec: options.codec))
            + options.effectiveThreads * ChunkEncoder.workspaceBytes(codec: options.codec, level: options.level, chunkSize: chunk)
            + (options.directIO ? MemberOutput.stagingBytes : 0)
    }

    /// Copies `bytes` into the current chunk, handing each full chunk to the workers. Blocks while
    /// every pool buffer is in flight. Throws the first error of any earlier write (sticky), or
    /// `.closed` after ``finish()``.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        try check()
        var off = 0
        while off < bytes.count {
            let s = try currentSlot()
            let n = min(chunkSize - s.inputCount, bytes.count - off)
            (s.input + s.inputCount).copyMemory(from: bytes.baseAddress! + off, byteCount: n)
            s.inputCount += n
            off += n
            inputBytes += Int64(n)
            if s.inputCount == chunkSize { submit() }
        }
    }

    /// Reads `fd` to its end straight into the chunk buffers (no copy through a caller's buffer), for
    /// a file or pipe compressed as a whole. Blocks while every pool buffer is in flight. Throws
    /// `.io` (with `inputPath` and the errno) for a failed read, and the errors of ``write(_:)``.
    /// Measured on the 84 MB JPEG tar: the copy it saves was 3% of the compressor's CPU.
    public func write(contentsOf fd: Int32, inputPath: String) throws {
        try check()
        while true {
            let s = try currentSlot()
            let n: Int
            do { n = try FileDescriptor(rawValue: fd).read(into: UnsafeMutableRawBufferPointer(start: s.input + s.inputCount, count: chunkSize - s.inputCount)) }
            catch {
                // Sticky like a write error: a finish() after it must not pass a cut input off
                // as the whole.
                let e = CompressionError(.io, path: inputPath, errno: error.rawValue, detail: "read failed")
                readError = e
                throw e
            }
            if n == 0 { return }
            s.inputCount += n
            inputBytes += Int64(n)
            if s.inputCount == chunkSize { submit() }
        }
    }

    /// Compresses the last partial chunk, waits until every member is written and stops the threads.
    /// An empty input still gets one (empty) member, so the output is a valid gzip/zstd file.
    /// Throws the first error met (sticky); a second call throws `.closed`.
    public func finish() throws -> CompressionStats {
        if finished { throw writer.error ?? CompressionError(.closed, path: path) }
        finished = true
        if let e = readError {
            stopThreads()
            throw e
        }
        if current == nil && nextSeq == 0, let s = free.pop() {
            s.inputCount = 0
            current = s
        }
        if let s = current, s.inputCount > 0 || nextSeq == 0 { submit() }
        stopThreads()
        if let e = writer.error { throw e }
        var st = writer.currentStats
        st.inputBytes = inputBytes
        return st
    }

    /// The chunk being filled, or a free pool buffer (waiting for one while all are in flight).
    private func currentSlot() throws -> CompressSlot {
        if let s = current { return s }
        guard let s = free.pop() else { throw CompressionError(.closed, path: path) }
        s.inputCount = 0
        current = s
        try check()
        return s
    }

    private func check() throws {
        if finished { throw CompressionError(.closed, path: path, detail: "write after finish()") }
        if let e = readError { throw e }
        if let e = writer.error { throw e }
    }

    private func submit() {
        let s = current!
        current = nil
        s.seq = nextSeq
        s.error = nil
        nextSeq += 1
        jobs.push(s)
    }

    private func endSlot() -> CompressSlot {
        let s = CompressSlot(chunkSize: 0, outputCapacity: 1)
        s.isEnd = true
        return s
    }
}

/// The writer thread's state: emits members in sequence order and keeps the first error. After an
/// error it keeps recycling buffers (without writing) so a producer blocked in `write` wakes up and
/// sees the error. Kept apart from ``ParallelCompressor`` so the thread never holds the compressor
/// itself, and an abandoned compressor can still be freed.
final class MemberWriter {
    private let path: String
    private let free: BoundedQueue<CompressSlot>
    private let outbox: OrderedOutbox<CompressSlot>
    private let output: MemberOutput
    private let lock = Monitor()
    private var stickyError: CompressionError?
    var stats = CompressionStats()

    init(path: String, free: BoundedQueue<CompressSlot>, outbox: OrderedOutbox<CompressSlot>, output: MemberOutput) {
        self.path = path
        self.free = free
        self.outbox = outbox
        self.output = output
    }

    var error: CompressionError? { lock.withLock { stickyError } }
    var currentStats: CompressionStats { lock.withLock { stats } }

    func run() {
        var seq = 0
        var offset: Int64 = 0
        while let s = outbox.take(seq), !s.isEnd {
            seq += 1
            if error == nil {
                if let e = s.error {
                    lock.withLock { stickyError = e }
                } else {
                    let rc = output.write(s.output, s.outputCount)
                    lock.withLock {
                        if rc != 0 {
                            stickyError = CompressionError(.io, path: path, memberOffset: offset, errno: rc,
                                                           detail: "write failed")
                        } else {
                            stats.outputBytes += Int64(s.outputCount)
                            stats.members += 1
                            switch s.method {
                            case .stored: stats.storedMembers += 1
                            case .fast: stats.fastMembers += 1
                            case .strong: stats.strongMembers += 1
                            }
                        }
                    }
                    offset += Int64(s.outputCount)
                }
            }
            free.push(s)
        }
        // Direct output keeps its last, unaligned bytes staged until here.
        if error == nil {
            let rc = output.finish()
            if rc != 0 {
                lock.withLock {
                    stickyError = CompressionError(.io, path: path, memberOffset: offset, errno: rc, detail: "write failed")
                }
            }
        }
        lock.withLock { stats.directBytes = output.directBytes }
    }
}
