import Foundation

/// One output buffer: a fixed allocation reused for the whole dump.
final class OutputChunk {
    let base: UnsafeMutablePointer<UInt8>
    let capacity: Int
    var count = 0

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    deinit { base.deallocate() }
}

/// Hands chunks from the table readers to the single writer, in table order.
///
/// Each table has a lane holding at most `depth` filled chunks; a reader whose
/// lane is full waits. Chunks come from a pool of `readers * (depth + 1) + 1`
/// (each reader fills one, its lane holds `depth`, the writer writes one), so
/// the pool can never run dry while the writer waits on the front lane, and
/// memory stays at that many chunks whatever the database size.
final class DumpPipeline {
    final class Lane {
        var chunks: [OutputChunk] = []
        var head = 0
        var finished = false
        var rows = 0
        var statements = 0
        var queued: Int { chunks.count - head }
    }

    private let cond = NSCondition()
    private var free: [OutputChunk] = []
    private var allocated = 0
    private let limit: Int
    let chunkBytes: Int
    private let depth: Int
    private var lanes: [Lane]
    private var nextJob = 0
    private(set) var failure: Error?

    init(jobs: Int, readers: Int, depth: Int, chunkBytes: Int) {
        self.depth = depth
        self.chunkBytes = chunkBytes
        limit = readers * (depth + 1) + 1
        lanes = (0..<jobs).map { _ in Lane() }
    }

    /// The next table index for a reader, or nil when all are taken or the dump failed.
    func takeJob() -> Int? {
        cond.lock(); defer { cond.unlock() }
        guard failure == nil, nextJob < lanes.count else { return nil }
        nextJob += 1
        return nextJob - 1
    }

    /// An empty chunk; waits while all `limit` chunks are in use.
    /// - Throws: ``DBError`` `.cancelled` when the dump has failed meanwhile.
    func acquire() throws -> OutputChunk {
        cond.lock(); defer { cond.unlock() }
        while true {
            if failure != nil { throw DBError(.cancelled) }
            if let c = free.popLast() { c.count = 0; return c }
            if allocated < limit { allocated += 1; return OutputChunk(capacity: chunkBytes) }
            cond.wait()
        }
    }

    /// Returns a written chunk to the pool.
    func release(_ c: OutputChunk) {
        cond.lock()
        free.append(c)
        cond.broadcast()
        cond.unlock()
    }

    /// Queues a filled chunk on a lane; waits while the lane holds `depth` chunks.
    /// - Throws: ``DBError`` `.cancelled` when the dump has failed meanwhile.
    func push(_ c: OutputChunk, lane index: Int) throws {
        cond.lock(); defer { cond.unlock() }
        let lane = lanes[index]
        while lane.queued >= depth && failure == nil { cond.wait() }
        if failure != nil { free.append(c); cond.broadcast(); throw DBError(.cancelled) }
        lane.chunks.append(c)
        cond.broadcast()
    }

    /// Marks a lane complete with its counts.
    func finish(lane index: Int, rows: Int, statements: Int) {
        cond.lock()
        lanes[index].finished = true
        lanes[index].rows = rows
        lanes[index].statements = statements
        cond.broadcast()
        cond.unlock()
    }

    /// Records the first failure and wakes everyone.
    func fail(_ error: Error) {
        cond.lock()
        if failure == nil { failure = error }
        cond.broadcast()
        cond.unlock()
    }

    /// For the writer: the next chunk of a lane, or nil when the lane is finished and drained.
    /// - Throws: the first failure of any reader.
    func next(lane index: Int) throws -> OutputChunk? {
        cond.lock(); defer { cond.unlock() }
        let lane = lanes[index]
        while true {
            if let f = failure { throw f }
            if lane.queued > 0 {
                let c = lane.chunks[lane.head]
                lane.head += 1
                if lane.head > 64 { lane.chunks.removeFirst(lane.head); lane.head = 0 }
                cond.broadcast()
                return c
            }
            if lane.finished { return nil }
            cond.wait()
        }
    }

    func counts(lane index: Int) -> (rows: Int, statements: Int) {
        cond.lock(); defer { cond.unlock() }
        return (lanes[index].rows, lanes[index].statements)
    }
}
