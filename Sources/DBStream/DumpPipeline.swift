import Foundation
import ThreadKit

/// One output buffer: a fixed allocation reused for the whole dump.
final class OutputChunk {
    let base: UnsafeMutablePointer<UInt8>
    let capacity: Int
    var count = 0
    /// True when the bytes end at a statement boundary; the writer may then switch tables.
    var endsStatement = true

    init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    deinit { base.deallocate() }
}

/// Hands chunks from the table readers to the single writer.
///
/// Each table has a lane of filled chunks; a reader may have at most `depth`
/// chunks waiting across its lanes, and then waits. The writer takes chunks in the order they were filled,
/// whatever their table, but once it has started a statement it stays on that
/// lane until a chunk ends at a statement boundary: the file interleaves whole
/// statements of tables read at the same time, and each table's DROP and
/// CREATE still come before its rows. Chunks come from a pool of
/// `readers * (depth + 1) + 1` (each reader fills one, its lane holds `depth`,
/// the writer writes one), so the reader of the statement the writer waits for
/// can always get a chunk (no deadlock, also with many small tables), and memory
/// stays at that many chunks whatever the database size.
final class DumpPipeline {
    final class Lane {
        var chunks: [OutputChunk] = []
        var head = 0
        var finished = false
        var rows = 0
        var statements = 0
        var queued: Int { chunks.count - head }
    }

    private let cond = Monitor()
    private var free: [OutputChunk] = []
    private var allocated = 0
    private let limit: Int
    let chunkBytes: Int
    private let depth: Int
    private var lanes: [Lane]
    private var nextJob = 0
    /// Lane of each queued chunk, in the order they were pushed.
    private var ready: [Int] = []
    private var finishedLanes = 0
    /// Reader of each lane, and chunks each reader has waiting.
    private var laneReader: [Int]
    private var waiting: [Int]
    private(set) var failure: Error?

    init(jobs: Int, readers: Int, depth: Int, chunkBytes: Int) {
        self.depth = depth
        self.chunkBytes = chunkBytes
        limit = readers * (depth + 1) + 1
        lanes = (0..<jobs).map { _ in Lane() }
        laneReader = [Int](repeating: 0, count: jobs)
        waiting = [Int](repeating: 0, count: readers)
    }

    /// The next table index for a reader, or nil when all are taken or the dump failed.
    func takeJob(reader: Int) -> Int? {
        cond.lock(); defer { cond.unlock() }
        guard failure == nil, nextJob < lanes.count else { return nil }
        laneReader[nextJob] = reader
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

    /// Queues a filled chunk on a lane; waits while the lane's reader has `depth` chunks waiting.
    /// - Throws: ``DBError`` `.cancelled` when the dump has failed meanwhile.
    func push(_ c: OutputChunk, lane index: Int) throws {
        cond.lock(); defer { cond.unlock() }
        let lane = lanes[index]
        let r = laneReader[index]
        while waiting[r] >= depth && failure == nil { cond.wait() }
        if failure != nil { free.append(c); cond.broadcast(); throw DBError(.cancelled) }
        waiting[r] += 1
        lane.chunks.append(c)
        ready.append(index)
        cond.broadcast()
    }

    /// Marks a lane complete with its counts.
    func finish(lane index: Int, rows: Int, statements: Int) {
        cond.lock()
        finishedLanes += 1
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

    /// For the writer: the next chunk to write and its lane, or nil when every lane is
    /// finished and drained. With `stay`, only that lane's next chunk (a statement is open there).
    /// - Throws: the first failure of any reader.
    func next(stay: Int?) throws -> (lane: Int, chunk: OutputChunk)? {
        cond.lock(); defer { cond.unlock() }
        while true {
            if let f = failure { throw f }
            var index: Int? = nil
            if let l = stay {
                if lanes[l].queued > 0 {
                    index = l
                    ready.remove(at: ready.firstIndex(of: l)!)
                }
            } else if !ready.isEmpty {
                index = ready.removeFirst()
            } else if finishedLanes == lanes.count {
                return nil
            }
            if let i = index {
                let lane = lanes[i]
                waiting[laneReader[i]] -= 1
                let c = lane.chunks[lane.head]
                lane.head += 1
                if lane.head > 64 { lane.chunks.removeFirst(lane.head); lane.head = 0 }
                cond.broadcast()
                return (i, c)
            }
            cond.wait()
        }
    }

    func counts(lane index: Int) -> (rows: Int, statements: Int) {
        cond.lock(); defer { cond.unlock() }
        return (lanes[index].rows, lanes[index].statements)
    }
}
