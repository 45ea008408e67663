import Foundation
import ThreadKit

/// The data connections of one restore: a bounded FIFO of statements per
/// connection, each run on its own thread, under one lock.
///
/// One lock for every queue keeps the hand-off simple (a statement is a few
/// hundred bytes to a few MiB, so a restore takes the lock a few thousand times,
/// not millions) and lets the reader wait for "any connection has room" and
/// "table t has nothing queued or running anywhere" without polling.
///
/// Connections never wait on each other: every ordering barrier (a table's
/// `ENABLE KEYS` after its spread INSERTs, DDL, views, triggers) is enforced by
/// the reader before it queues the statement, so a stalled connection cannot
/// deadlock another. Memory: at most `depth` statements queued per connection, and at most
/// ``queuedBytesLimit`` bytes of statements and their LOAD DATA rows queued or running in all
/// (one statement larger than that runs alone), whatever the number of connections.
final class RestoreConnections {
    struct Failure { var error: DBError; var line: Int; var sql: String; var table: String? }
    private struct Job {
        var statement: SQLStatement; var table: String?; var endsData: Bool; var load: Load? = nil
        /// A held-back key build (``DeferredKeys``): kept aside when its queue is dropped.
        var keyBuild = false
        var bytes: Int { statement.text.count + (load?.rows.data.count ?? 0) }
    }
    /// Bytes of the jobs queued or running on all connections, at most.
    static var queuedBytesLimit: Int { RestoreOptions.queuedBytesLimit }
    /// A plain INSERT's rows as LOAD DATA reads them (converted by the reader, so a connection
    /// sends one statement while the next is being converted), and the character set the
    /// INSERT's text is in (the session's character_set_client when it was read).
    struct Load { var rows: LoadRows; var charset: String }

    private let conns: [MySQLConnection]
    private let depth: Int
    private let cond = Monitor()
    private var queues: [[Job]]
    private var running: [Bool]
    /// Bytes of the jobs queued or running (see ``queuedBytesLimit``).
    private var queuedBytes = 0
    /// Statements of each table queued or running on any connection.
    private var outstanding: [String: Int] = [:]
    private var restoredList: [String] = []
    /// Tables the reader has moved past whose statements are still queued.
    private var readDone = Set<String>()
    private var executed: [Int]
    private var loaded: [Int]
    private var failures: [Failure] = []
    /// Key builds dropped from a queue by a failure or ``cancel()``, never started.
    private var dropped: [SQLStatement] = []
    /// A connection failed: nothing new is queued; the others finish what they hold.
    private var failed = false
    /// Queues dropped; threads end at once.
    private var cancelled = false
    private var stopping = false
    private let threads = DispatchGroup()

    /// Takes ownership of `connections` (at least one).
    init(connections: [MySQLConnection], depth: Int) {
        precondition(!connections.isEmpty)
        conns = connections
        self.depth = max(1, depth)
        queues = Array(repeating: [], count: connections.count)
        running = Array(repeating: false, count: connections.count)
        executed = Array(repeating: 0, count: connections.count)
        loaded = Array(repeating: 0, count: connections.count)
    }

    /// Number of connections.
    var count: Int { conns.count }

    /// Starts one thread per connection. When one cannot be started, those already started
    /// are stopped and the error is thrown.
    func start() throws {
        for i in conns.indices {
            do {
                try startThread(named: "restore-\(i)", stackSize: ThreadStack.standard, group: threads) { [self] in run(i) }
            } catch {
                cancel()
                stop()
                throw DBError(error)
            }
        }
    }

    /// Times a statement chosen as a deadlock's victim is run again before the restore fails.
    static let deadlockRetries = 5

    private func run(_ i: Int) {
        let conn = conns[i]
        while true {
            cond.lock()
            while queues[i].isEmpty && !stopping && !cancelled { cond.wait() }
            if cancelled || queues[i].isEmpty { cond.unlock(); return }
            let job = queues[i].removeFirst()
            running[i] = true
            cond.broadcast()   // room in this queue
            cond.unlock()
            var failure: Failure?
            var usedLoad = false
            do {
                if let load = job.load {
                    usedLoad = try Self.load(job.statement, load, on: conn)
                }
                if !usedLoad {
                    // InnoDB may pick a multi-row INSERT as a deadlock's victim when another
                    // connection inserts into the same table's unique key; under autocommit the
                    // whole statement was rolled back, so running it again is what the client's
                    // serial load would have done.
                    var attempt = 0
                    while true {
                        do {
                            try job.statement.text.withUnsafeBytes {
                                try conn.execute(bytes: $0, describe: { job.statement.string })
                            }
                            break
                        } catch let error as DBError where attempt < Self.deadlockRetries && error.isDeadlock {
                            attempt += 1
                            usleep(UInt32(10_000 * attempt))
                        }
                    }
                }
            } catch {
                failure = Failure(error: error as? DBError ?? DBError(.cancelled), line: job.statement.line,
                                  sql: job.statement.string, table: job.table)
            }
            cond.lock()
            running[i] = false
            queuedBytes -= job.bytes   // both paths below broadcast
            if let f = failure {
                failures.append(f)
                failed = true
                drop(i)
                cond.broadcast()
                cond.unlock()
                return
            }
            if usedLoad { loaded[i] += 1 }
            if let t = job.table {
                executed[i] += 1
                outstanding[t, default: 1] -= 1
                if outstanding[t] == 0 { outstanding[t] = nil }
                if job.endsData || (outstanding[t] == nil && readDone.contains(t)) { noteRestored(t) }
            }
            cond.broadcast()
            cond.unlock()
        }
    }

    /// Sends `s` as LOAD DATA rows in a transaction and keeps them only when the server
    /// inserted every row without a warning; otherwise rolls back, so the caller runs the
    /// INSERT and gets the client's result (a duplicate key's error, a truncation's warning).
    /// - Returns: false when the INSERT must run (a value that does not convert, or the rollback).
    private static func load(_ s: SQLStatement, _ load: Load, on conn: MySQLConnection) throws -> Bool {
        var sql = Array("LOAD DATA LOCAL INFILE 'fastbackup-rows' INTO TABLE ".utf8)
        sql += s.text[load.rows.table]
        sql += Array(" CHARACTER SET \(load.charset) FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'".utf8)
        try conn.execute("START TRANSACTION")
        let result: (inserted: UInt64, warnings: UInt32)
        do {
            result = try sql.withUnsafeBytes { q in
                try load.rows.data.withUnsafeBytes { try conn.load(q, rows: $0, describe: { String(decoding: sql, as: UTF8.self) }) }
            }
        } catch let e as DBError where e.serverErrno != nil {
            try conn.execute("ROLLBACK")
            return false
        }
        if result.inserted == UInt64(load.rows.rows) && result.warnings == 0 {
            do {
                try conn.execute("COMMIT")
                return true
            } catch let e as DBError where e.serverErrno != nil {
                // InnoDB's bulk insert into an empty table (UNIQUE_CHECKS=0) finds a duplicate at
                // COMMIT, which rolls back: the INSERT gives its own error.
                try? conn.execute("ROLLBACK")
                return false
            }
        }
        try conn.execute("ROLLBACK")
        return false
    }

    /// With `cond` held: empties queue `i`, keeping its key builds aside.
    private func drop(_ i: Int) {
        queuedBytes -= queues[i].reduce(0) { $0 + $1.bytes }
        dropped += queues[i].filter(\.keyBuild).map(\.statement)
        queues[i].removeAll()
    }

    /// Key builds that were queued but never started (see ``Job/keyBuild``).
    var droppedKeyBuilds: [SQLStatement] {
        cond.lock(); defer { cond.unlock() }
        return dropped
    }

    /// With `cond` held: whether `bytes` more fit the byte budget.
    private func budgetFits(_ bytes: Int) -> Bool {
        queuedBytes == 0 || queuedBytes + bytes <= Self.queuedBytesLimit
    }

    private func append(_ job: Job, to i: Int) {
        queuedBytes += job.bytes
        queues[i].append(job)
        if let t = job.table { outstanding[t, default: 0] += 1 }
        cond.broadcast()
    }

    /// Queues a statement on connection `i`; waits while `depth` are waiting there.
    /// Returns without queueing once a connection has failed (the caller checks ``failure``).
    func enqueue(_ s: SQLStatement, table: String?, on i: Int, endsData: Bool = false, load: Load? = nil, keyBuild: Bool = false) {
        cond.lock(); defer { cond.unlock() }
        let job = Job(statement: s, table: table, endsData: endsData, load: load, keyBuild: keyBuild)
        while (queues[i].count >= depth || !budgetFits(job.bytes)) && !failed { cond.wait() }
        if failed { return }
        append(job, to: i)
    }

    /// Queues a statement on connection `preferred` when it has room, else on the connection
    /// with the least work (queued plus running), waiting until some connection has room.
    /// Returns that connection's index.
    @discardableResult
    func enqueueLeastLoaded(_ s: SQLStatement, table: String?, endsData: Bool = false, preferred: Int? = nil,
                            load: Load? = nil, keyBuild: Bool = false) -> Int {
        cond.lock(); defer { cond.unlock() }
        let job = Job(statement: s, table: table, endsData: endsData, load: load, keyBuild: keyBuild)
        while true {
            if failed { return 0 }
            guard budgetFits(job.bytes) else { cond.wait(); continue }
            if let p = preferred, queues[p].count < depth {
                append(job, to: p)
                return p
            }
            var best = -1, bestLoad = Int.max
            for i in conns.indices where queues[i].count < depth {
                let load = queues[i].count + (running[i] ? 1 : 0)
                if load < bestLoad { best = i; bestLoad = load }
            }
            if best >= 0 {
                append(job, to: best)
                return best
            }
            cond.wait()
        }
    }

    /// Queues a session statement (`SET`, `USE`) on every connection, in file order.
    func enqueueEverywhere(_ s: SQLStatement) {
        for i in conns.indices { enqueue(s, table: nil, on: i) }
    }

    /// Waits until no statement of `table` is queued or running (or a connection failed).
    func waitDrained(_ table: String) {
        cond.lock(); defer { cond.unlock() }
        while outstanding[table] != nil && !failed { cond.wait() }
    }

    /// Waits until every queue is empty and nothing runs. After a failure, waits for the
    /// other connections to finish what they hold, so the list of restored tables is exact.
    func waitIdle() {
        cond.lock(); defer { cond.unlock() }
        while !cancelled && (queues.contains { !$0.isEmpty } || running.contains(true)) { cond.wait() }
    }

    /// The failure of the earliest statement in the file, if any connection failed.
    var failure: Failure? {
        cond.lock(); defer { cond.unlock() }
        return failures.min { $0.line < $1.line }
    }

    /// INSERTs each connection sent as LOAD DATA rows.
    var loadsRun: [Int] {
        cond.lock(); defer { cond.unlock() }
        return loaded
    }

    /// Table statements (INSERTs, ALTERs) each connection has run.
    var statementsRun: [Int] {
        cond.lock(); defer { cond.unlock() }
        return executed
    }

    /// Records a table whose data finished on the schema connection.
    func markRestored(_ table: String) {
        cond.lock(); noteRestored(table); cond.unlock()
    }

    /// The reader has moved past `table`'s part of the file (dumps keep each table's rows
    /// together): it counts as restored once its queued statements have run. phpMyAdmin and
    /// Adminer write no closing `ENABLE KEYS`, so without this no table of theirs was ever
    /// reported restored.
    func finishedReading(_ table: String) {
        cond.lock(); defer { cond.unlock() }
        if outstanding[table] == nil { noteRestored(table) } else { readDone.insert(table) }
    }

    /// With `cond` held.
    private func noteRestored(_ table: String) {
        readDone.remove(table)
        if !restoredList.contains(table) { restoredList.append(table) }
    }

    /// Tables whose data has been loaded completely, in the order they finished.
    var restored: [String] {
        cond.lock(); defer { cond.unlock() }
        let failed = Set(failures.compactMap(\.table))
        return restoredList.filter { !failed.contains($0) }
    }

    /// Drops every queue; threads end after their current statement.
    func cancel() {
        cond.lock()
        cancelled = true
        failed = true
        for i in queues.indices { drop(i) }
        cond.broadcast()
        cond.unlock()
    }

    /// Ends the threads after their queues drain (or at once when cancelled) and waits for them.
    func stop() {
        cond.lock()
        stopping = true
        cond.broadcast()
        cond.unlock()
        threads.wait()
    }
}
