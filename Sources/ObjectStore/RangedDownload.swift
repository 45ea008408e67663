import Foundation
import SystemCalls
import ThreadKit

/// Reads one object with parallel ranged GETs and writes its bytes, in order, into a pipe
/// whose other end a consumer (the parallel decompressor) reads as if it were a file.
///
/// Memory: `buffers` ranges of `rangeSize` bytes, allocated once; `rangesInFlight` threads
/// fetch while the writer hands finished ranges on in order. A range whose transfer fails is
/// fetched again from its start, a bounded number of times; after that the pipe is closed
/// early and ``finish()`` throws, so the consumer sees a truncated stream and stops before it
/// changes anything it would not also change for a truncated file.
public final class RangedDownload {
    public struct Limits: Sendable {
        public var rangeSize = 8 << 20
        public var rangesInFlight = 4
        public var attemptsPerRange = 4
        public init() {}
    }

    public let bucket: String
    public let key: String
    public let size: Int64
    public let limits: Limits
    /// The end the consumer reads from (its to close).
    public let readEnd: Int32
    private let writeEnd: Int32
    private let settings: S3Settings
    private let monitor = Monitor()
    private var failure: Error?
    private let done = DispatchGroup()

    /// Asks the object's size (HEAD) and starts the transfer.
    public init(settings: S3Settings, bucket: String, key: String, limits: Limits = Limits()) throws {
        self.settings = settings
        self.bucket = bucket
        self.key = key
        self.limits = limits
        let client = try S3Client(settings: settings)
        guard let head = try client.head(bucket, key) else {
            throw S3Error(.status(404, code: "NoSuchKey", message: "no such object"), request: "HEAD s3://\(bucket)/\(key)")
        }
        size = head.size
        (readEnd, writeEnd) = try transferPipe()
        do {
            try startThread(named: "s3-download", stackSize: ThreadStack.standard, group: done) { [self] in run(firstClient: client) }
        } catch {
            close(readEnd); close(writeEnd)
            throw error
        }
    }

    /// Waits for the transfer; throws its first failure.
    public func finish() throws {
        done.wait()
        if let failure = monitor.withLock({ failure }) { throw failure }
    }

    private func fail(_ error: Error) { monitor.withLock { if failure == nil { failure = error } } }
    private var failed: Bool { monitor.withLock { failure != nil } }

    /// The ranges, in order. The first ones grow from 1 MiB to `rangeSize`: the consumer gets
    /// nothing until the first range is whole, and an 8 MiB first range kept the decompressor
    /// waiting for it (an 81 MB media rollback from the local RGW: 0.2 s more than from disk).
    static func ranges(size: Int64, rangeSize: Int) -> [Range<Int64>] {
        var out: [Range<Int64>] = []
        var start: Int64 = 0
        var next = Int64(min(1 << 20, rangeSize))
        while start < size {
            let end = min(size, start + next)
            out.append(start..<end)
            start = end
            next = min(next * 2, Int64(rangeSize))
        }
        return out
    }

    /// The writer: starts range fetches ahead, writes each finished range in order.
    private func run(firstClient: S3Client) {
        let ranges = Self.ranges(size: size, rangeSize: limits.rangeSize)
        let count = ranges.count
        let slots = limits.rangesInFlight + 1
        let buffers = BoundedQueue<UnsafeMutableRawBufferPointer>(capacity: slots)
        var all: [UnsafeMutableRawBufferPointer] = []
        for _ in 0..<min(slots, max(1, count)) {
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: limits.rangeSize, alignment: 4096)
            all.append(b)
            buffers.push(b)
        }
        let outbox = OrderedOutbox<(UnsafeMutableRawBufferPointer, Int)>()
        let fetchers = DispatchGroup()
        let clients: BoundedQueue<S3Client>
        let pool: WorkerPool
        do {
            clients = try S3Client.pool(settings, first: firstClient, count: limits.rangesInFlight)
            pool = try WorkerPool(threads: limits.rangesInFlight, name: "s3-range")
        } catch {
            fail(error)
            close(writeEnd)
            for b in all { b.deallocate() }
            return
        }
        defer {
            close(writeEnd)
            outbox.close()
            fetchers.wait()
            pool.shutdown()
            for b in all { b.deallocate() }
        }
        var next = 0
        // Starts fetches while buffers are free; each puts its range in the outbox.
        func startFetches(upTo limit: Int) {
            while next < count && next < limit, !failed {
                guard let buffer = buffers.pop() else { return }
                let index = next
                next += 1
                let range = ranges[index]
                fetchers.enter()
                pool.submit { [self] in
                    defer { fetchers.leave() }
                    guard let client = clients.pop() else { return }
                    defer { clients.push(client) }
                    let length = fetch(client, range, into: buffer)
                    outbox.put(index, (buffer, length))
                }
            }
        }
        for index in 0..<count {
            startFetches(upTo: index + slots)
            guard let (buffer, length) = outbox.take(index) else { return }
            if failed { return }
            do {
                try FileDescriptor(rawValue: writeEnd).writeAll(UnsafeRawBufferPointer(rebasing: buffer[0..<length]))
            } catch {
                // EPIPE: the consumer stopped reading (it failed, or has what it needs).
                if error != Errno(EPIPE) { fail(S3Error(.transport("writing the downloaded stream: \(error)"))) }
                return
            }
            buffers.push(buffer)
        }
    }

    /// Fetches one range whole, retrying it from its start; the bytes it holds, or 0 after a
    /// failure (recorded).
    private func fetch(_ client: S3Client, _ range: Range<Int64>, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        var lastError: Error?
        for attempt in 0..<limits.attemptsPerRange {
            if failed { return 0 }
            if attempt > 0 { usleep(useconds_t(200_000 << min(attempt, 5))) }
            var filled = 0
            do {
                try client.get(bucket, key, range: range) { bytes in
                    guard filled + bytes.count <= buffer.count else { return false }
                    (buffer.baseAddress! + filled).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
                    filled += bytes.count
                    return true
                }
                if Int64(filled) == Int64(range.count) { return filled }
                lastError = S3Error(.protocolError("range \(range) gave \(filled) bytes"), request: "GET s3://\(bucket)/\(key)")
            } catch let e as S3Error where e.isTransient {
                lastError = e
            } catch {
                lastError = error
                break
            }
        }
        fail(lastError ?? S3Error(.cancelled))
        return 0
    }
}
