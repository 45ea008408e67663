import Foundation

/// Settings of ``SQLRestorer``.
public struct RestoreOptions: Sendable {
    /// Connections loading table data at once (1...16), besides the one running
    /// schema statements. Memory: `threads * queueDepth` statements at most.
    public var threads: Int
    /// Statements a data connection may have waiting.
    public var queueDepth: Int
    /// Seconds for connecting.
    public var connectTimeout: Int
    /// Seconds one statement may run (index builds on large tables take a while).
    public var readTimeout: Int

    /// Makes options; the defaults suit a small machine.
    public init(threads: Int = 2, queueDepth: Int = 4, connectTimeout: Int = 10, readTimeout: Int = 3600) {
        self.threads = max(1, min(16, threads))
        self.queueDepth = max(1, queueDepth)
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
    }
}

/// What a restore did.
public struct RestoreStats: Sendable, Equatable {
    /// Statements executed (including session SETs, once per file statement).
    public var statements = 0
    /// INSERT/REPLACE statements.
    public var dataStatements = 0
    /// Tables created.
    public var tables = 0
    /// Bytes read from the file.
    public var bytes = 0
    /// `LOCK TABLES`/`UNLOCK TABLES` statements skipped (they would serialise the load).
    public var skippedLocks = 0
    /// Empty stats.
    public init() {}
}

/// Loads a plain `.sql` dump (fastbackup's, mariadb-dump's or Magento's own)
/// into the configured database, streaming with flat memory.
///
/// Runs with `FOREIGN_KEY_CHECKS=0` and `UNIQUE_CHECKS=0`. Statements are read
/// by ``SQLStatementSplitter``; INSERTs of different tables go to several
/// connections in parallel (each table sticks to one connection, so its rows
/// keep their order); `SET`/`USE` statements reach every connection in file
/// order; `ALTER TABLE t` follows t's data; `DROP`/`CREATE TABLE t` wait only
/// for t's own data; everything else (views, triggers, routines) waits until
/// all data before it is loaded. `LOCK TABLES`/`UNLOCK TABLES` are skipped.
///
/// On the first error the load stops and ``DBError`` `.restore` names the
/// statement's line, the server error and the tables already fully restored.
public final class SQLRestorer {
    /// Where to connect and which database to load into.
    public let config: DatabaseConfig
    /// How to load.
    public let options: RestoreOptions

    /// Makes a restorer; nothing connects until ``restore(fromFD:path:)``.
    public init(config: DatabaseConfig, options: RestoreOptions = .init()) {
        self.config = config
        self.options = options
    }

    /// Reads SQL from `fd` to its end and executes it.
    /// - Parameter path: names the input in messages.
    /// - Throws: ``DBError`` `.connect`; `.restore` (line, server error, tables done);
    ///   `.syntax` for input that cannot be split; `.io` for read errors.
    public func restore(fromFD fd: Int32, path: String) throws -> RestoreStats {
        let splitter = SQLStatementSplitter(fd: fd, path: path)
        return try restore(splitter: splitter, path: path)
    }

    /// Executes the statements of a splitter (see ``restore(fromFD:path:)``).
    public func restore(splitter: SQLStatementSplitter, path: String) throws -> RestoreStats {
        func connect() throws -> MySQLConnection {
            let c = try MySQLConnection(config: config, useDatabase: true, connectTimeout: options.connectTimeout,
                                        readTimeout: options.readTimeout, writeTimeout: options.readTimeout)
            try c.execute("SET SESSION FOREIGN_KEY_CHECKS=0, UNIQUE_CHECKS=0, SQL_NOTES=0")
            return c
        }
        let main = try connect()
        var workers: [RestoreWorker] = []
        // A table counts as restored once its data's closing `ALTER TABLE ... ENABLE KEYS`
        // (written by fastbackup, mariadb-dump and Magento alike) has run.
        let restored = RestoredTables()
        for _ in 0..<options.threads {
            workers.append(RestoreWorker(conn: try connect(), depth: options.queueDepth, restored: restored))
        }
        for w in workers { w.start() }
        defer { for w in workers { w.stop() } }

        var stats = RestoreStats()
        var owner: [String: RestoreWorker] = [:]   // table -> its data connection

        func failure() -> RestoreWorker.Failure? { workers.lazy.compactMap { $0.failure }.first }
        func restoreError(line: Int, sql: String, errno: UInt32, message: String) -> DBError {
            let done = restored.names
            return DBError(.restore(path: path, line: line, sql: sql, errno: errno, message: message, restoredTables: done))
        }
        func checkWorkers() throws {
            guard let f = failure() else { return }
            // Let the data already queued for other tables finish, so the report is exact.
            for w in workers { try? w.waitIdle() }
            for w in workers { w.cancel() }
            let e = f.error
            throw restoreError(line: f.line, sql: f.sql, errno: e.serverErrno ?? 0, message: Self.message(e))
        }
        func runMain(_ s: SQLStatement) throws {
            do {
                try s.text.withUnsafeBytes { try main.execute(bytes: $0, describe: { s.string }) }
            } catch let e as DBError {
                // Let the data already queued for other tables finish, so the report is exact.
                for w in workers { try? w.waitIdle() }
                for w in workers { w.cancel() }
                throw restoreError(line: s.line, sql: s.string, errno: e.serverErrno ?? 0, message: Self.message(e))
            }
        }

        while let s = try splitter.next() {
            try checkWorkers()
            stats.statements += 1
            switch StatementKind(s.text) {
            case .session:
                try runMain(s)
                for w in workers { try w.enqueue(s, table: nil) }
            case .data(let table):
                stats.dataStatements += 1
                let w: RestoreWorker
                if let o = owner[table] { w = o } else {
                    // A new table goes to the connection with the least work waiting.
                    w = workers.min { $0.pending < $1.pending }!
                    owner[table] = w
                }
                try w.enqueue(s, table: table)
            case .alterTable(let table, let endsData):
                if let w = owner[table] { try w.enqueue(s, table: table, endsData: endsData) } else {
                    try runMain(s)
                    if endsData { restored.add(table) }
                }
            case .tableDDL(let table, let isCreate):
                if let w = owner[table] { try w.waitIdle(); try checkWorkers() }
                try runMain(s)
                if isCreate { stats.tables += 1 }
            case .lock:
                stats.skippedLocks += 1
            case .other:
                for w in workers { try w.waitIdle() }
                try checkWorkers()
                try runMain(s)
            }
        }
        for w in workers { try w.waitIdle() }
        try checkWorkers()
        stats.bytes = splitter.bytesRead
        return stats
    }

    static func message(_ e: DBError) -> String {
        if case .query(_, _, let m) = e.kind { return m }
        return e.description
    }
}

/// How a statement is scheduled, from its first words.
enum StatementKind: Equatable {
    case session
    case data(String)
    case alterTable(String, endsData: Bool)
    case tableDDL(String, isCreate: Bool)
    case lock
    case other

    init(_ text: [UInt8]) {
        var t = Tokens(text)
        let w0 = t.word()
        switch w0 {
        case "SET", "USE":
            self = .session
        case "INSERT", "REPLACE":
            var w = t.word()
            while ["LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE"].contains(w) { w = t.word() }
            if w == "INTO", let name = t.name() { self = .data(name) } else { self = .other }
        case "LOCK", "UNLOCK":
            let w = t.word()
            self = (w == "TABLES" || w == "TABLE") ? .lock : .other
        case "ALTER":
            if t.word() == "TABLE", let name = t.name() {
                self = .alterTable(name, endsData: t.word() == "ENABLE" && t.word() == "KEYS")
            } else {
                self = .other
            }
        case "DROP":
            guard t.word() == "TABLE" else { self = .other; return }
            var probe = t
            if probe.word() == "IF", probe.word() == "EXISTS" { t = probe }
            if let name = t.name(), t.atEnd { self = .tableDDL(name, isCreate: false) } else { self = .other }
        case "CREATE":
            var w = t.word()
            if w == "OR" { self = .other; return }
            if w == "TEMPORARY" { self = .other; return }
            guard w == "TABLE" else { self = .other; return }
            var save = t
            w = t.word()
            if w == "IF", t.word() == "NOT", t.word() == "EXISTS" { save = t }
            t = save
            if let name = t.name() { self = .tableDDL(name, isCreate: true) } else { self = .other }
        default:
            self = .other
        }
    }
}

/// A tiny reader of a statement's first words: skips whitespace and the
/// openers of conditional comments (`/*!40000`, `/*M!100101`) and their closers.
private struct Tokens {
    let b: [UInt8]
    var i = 0
    init(_ b: [UInt8]) { self.b = b }

    mutating func skip() {
        while i < b.count {
            let c = b[i]
            if c == 32 || c == 9 || c == 10 || c == 13 { i += 1; continue }
            if c == UInt8(ascii: "/"), i + 2 < b.count, b[i + 1] == UInt8(ascii: "*") {
                var k = i + 2
                if k < b.count, b[k] == UInt8(ascii: "M") { k += 1 }
                if k < b.count, b[k] == UInt8(ascii: "!") {
                    k += 1
                    while k < b.count, b[k] >= 48, b[k] <= 57 { k += 1 }
                    i = k
                    continue
                }
            }
            if c == UInt8(ascii: "*"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "/") { i += 2; continue }
            return
        }
    }

    var atEnd: Bool { mutating get { skip(); return i >= b.count } }

    /// The next bare word, upper-cased ("" when none).
    mutating func word() -> String {
        skip()
        let start = i
        while i < b.count, (b[i] | 0x20) >= 97 && (b[i] | 0x20) <= 122 || b[i] == 95 { i += 1 }
        return String(decoding: b[start..<i], as: UTF8.self).uppercased()
    }

    /// The next table name (`name`, `` `na``me` ``, or qualified `db`.`t`), unquoted.
    mutating func name() -> String? {
        skip()
        var parts: [String] = []
        while i < b.count {
            if b[i] == 0x60 {
                var out: [UInt8] = []
                i += 1
                while i < b.count {
                    if b[i] == 0x60 {
                        if i + 1 < b.count, b[i + 1] == 0x60 { out.append(0x60); i += 2; continue }
                        i += 1
                        break
                    }
                    out.append(b[i]); i += 1
                }
                parts.append(String(decoding: out, as: UTF8.self))
            } else {
                let start = i
                while i < b.count, b[i] > 32, b[i] != UInt8(ascii: "."), b[i] != UInt8(ascii: "("),
                      b[i] != UInt8(ascii: ","), b[i] != UInt8(ascii: ";"), b[i] != UInt8(ascii: "*") { i += 1 }
                guard i > start else { break }
                parts.append(String(decoding: b[start..<i], as: UTF8.self))
            }
            if i < b.count, b[i] == UInt8(ascii: ".") { i += 1; continue }
            break
        }
        return parts.isEmpty ? nil : parts.joined(separator: ".")
    }
}

/// One data connection with a bounded FIFO of statements, run on its own thread.
final class RestoreWorker {
    struct Failure { var error: DBError; var line: Int; var sql: String; var table: String? }
    private struct Job { var statement: SQLStatement; var table: String?; var endsData = false }

    private let conn: MySQLConnection
    private let depth: Int
    private let cond = NSCondition()
    private var queue: [Job] = []
    private var running: Job?
    private var stopping = false
    private var cancelled = false
    private(set) var failure: Failure? {
        get { cond.lock(); defer { cond.unlock() }; return _failure }
        set { cond.lock(); _failure = newValue; cond.unlock() }
    }
    private var _failure: Failure?
    private let done = DispatchSemaphore(value: 0)
    private var started = false

    private let restored: RestoredTables

    init(conn: MySQLConnection, depth: Int, restored: RestoredTables) {
        self.conn = conn
        self.depth = depth
        self.restored = restored
    }

    func start() {
        started = true
        let t = Thread { [self] in
            defer { done.signal() }
            while true {
                cond.lock()
                while queue.isEmpty && !stopping { cond.wait() }
                if queue.isEmpty || cancelled { cond.unlock(); return }
                let job = queue.removeFirst()
                running = job
                cond.unlock()
                do {
                    try job.statement.text.withUnsafeBytes {
                        try conn.execute(bytes: $0, describe: { job.statement.string })
                    }
                } catch {
                    let e = error as? DBError ?? DBError(.cancelled)
                    cond.lock()
                    _failure = Failure(error: e, line: job.statement.line, sql: job.statement.string, table: job.table)
                    cancelled = true
                    queue.removeAll()
                    running = nil
                    cond.broadcast()
                    cond.unlock()
                    return
                }
                if job.endsData, let t = job.table { restored.add(t) }
                cond.lock()
                running = nil
                cond.broadcast()
                cond.unlock()
            }
        }
        t.start()
    }

    /// Queues a statement; waits while `depth` are waiting. Returns without
    /// queueing once this worker has failed (the caller checks failures).
    func enqueue(_ s: SQLStatement, table: String?, endsData: Bool = false) throws {
        cond.lock(); defer { cond.unlock() }
        while queue.count >= depth && !cancelled { cond.wait() }
        if cancelled { return }
        queue.append(Job(statement: s, table: table, endsData: endsData))
        cond.broadcast()
    }

    /// Waits until everything queued has run (or the worker failed).
    func waitIdle() throws {
        cond.lock(); defer { cond.unlock() }
        while (!queue.isEmpty || running != nil) && !cancelled { cond.wait() }
    }

    /// Statements queued or running.
    var pending: Int {
        cond.lock(); defer { cond.unlock() }
        return queue.count + (running == nil ? 0 : 1)
    }

    func cancel() {
        cond.lock()
        cancelled = true
        queue.removeAll()
        cond.broadcast()
        cond.unlock()
    }

    /// Ends the thread after the queue drains (or at once when cancelled) and waits for it.
    func stop() {
        cond.lock()
        stopping = true
        cond.broadcast()
        cond.unlock()
        if started { done.wait(); started = false }
    }
}

/// Tables whose data has been loaded completely, in the order they finished.
final class RestoredTables {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ t: String) { lock.lock(); list.append(t); lock.unlock() }
    var names: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
