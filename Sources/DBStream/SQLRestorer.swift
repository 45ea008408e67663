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
    /// Spread the plain `INSERT INTO t VALUES (...),...` statements of one table
    /// over all data connections (their order does not change the result). Off: each
    /// table's data goes to one connection, in file order.
    public var spreadTables: Bool
    /// Keep the load in the server's binary log (replicas and point-in-time recovery see
    /// it). Off: `SET SESSION SQL_LOG_BIN=0` on each connection when the account may
    /// (SUPER or BINLOG ADMIN); faster on a server with `log_bin`, but replicas miss the restore.
    public var writeBinlog: Bool

    /// Makes options; the defaults suit a small machine.
    public init(threads: Int = 2, queueDepth: Int = 4, connectTimeout: Int = 10, readTimeout: Int = 3600,
                spreadTables: Bool = true, writeBinlog: Bool = true) {
        self.threads = max(1, min(16, threads))
        self.queueDepth = max(1, queueDepth)
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.spreadTables = spreadTables
        self.writeBinlog = writeBinlog
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
    /// Plain INSERTs spread over the data connections (see ``RestoreOptions/spreadTables``).
    public var spreadStatements = 0
    /// Table statements (INSERTs, ALTERs) run by each data connection.
    public var statementsPerConnection: [Int] = []
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
/// by ``SQLStatementSplitter`` and run on `threads` data connections besides the
/// schema connection:
/// - plain `INSERT INTO t VALUES (...),...` statements (no IGNORE, no column
///   list, no ON DUPLICATE KEY UPDATE, no SELECT) go to t's first connection while it
///   has room, else to whichever connection has the least work, so even a dump made
///   of one big table loads in parallel; their order does not change the result;
/// - any other data statement of t (INSERT IGNORE, REPLACE, ...) and its
///   `ALTER TABLE t` keep their place: they wait until t's spread INSERTs are done
///   and then stick to one connection, in file order;
/// - `SET`/`USE` statements reach every connection in file order;
/// - a statement that reads tables (the word SELECT outside quotes: `INSERT ... SELECT`,
///   a subquery in VALUES or in a SET, `CREATE TABLE ... SELECT`) waits until all data before
///   it is loaded;
/// - `DROP`/`CREATE TABLE t` wait only for t's own data; everything else (views,
///   triggers, routines) waits until all data before it is loaded. After a
///   `CREATE TRIGGER` (rows' order becomes observable) or a `SET` of
///   NO_BACKSLASH_ESCAPES, tables are no longer spread;
/// - `LOCK TABLES`/`UNLOCK TABLES` are skipped;
/// - data connections commit every statement: a dump's `SET AUTOCOMMIT` reaches them
///   followed by `SET autocommit=1`, and `START TRANSACTION`/`COMMIT` run on the schema
///   connection only (which is where the dump's other statements run).
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
        let options = self.options
        func connect() throws -> MySQLConnection {
            let c = try MySQLConnection(config: config, useDatabase: true, connectTimeout: options.connectTimeout,
                                        readTimeout: options.readTimeout, writeTimeout: options.readTimeout)
            try c.execute("SET SESSION FOREIGN_KEY_CHECKS=0, UNIQUE_CHECKS=0, SQL_NOTES=0")
            // Needs SUPER or BINLOG ADMIN; without it the load is logged as usual.
            if !options.writeBinlog { try? c.execute("SET SESSION SQL_LOG_BIN=0") }
            return c
        }
        let main = try connect()
        var conns: [MySQLConnection] = []
        for _ in 0..<options.threads { conns.append(try connect()) }
        // A table counts as restored once its data's closing `ALTER TABLE ... ENABLE KEYS`
        // (written by fastbackup, mariadb-dump and Magento alike) has run.
        let pool = RestoreConnections(connections: conns, depth: options.queueDepth)
        pool.start()
        defer { pool.stop() }

        var stats = RestoreStats()
        // Where each table's statements go. `.pinned`: one connection, in file order (any
        // statement whose order may matter). `.spread`: plain INSERTs on `home` or whichever
        // connection has room; a barrier first waits for all of them to finish.
        enum Placement { case pinned(Int), spread(home: Int) }
        var placement: [String: Placement] = [:]
        // Spreading stays on until something makes row order observable (a trigger) or
        // the split of a statement could be misread (NO_BACKSLASH_ESCAPES).
        var spreadAllowed = options.spreadTables && pool.count > 1

        func restoreError(line: Int, sql: String, errno: UInt32, message: String) -> DBError {
            DBError(.restore(path: path, line: line, sql: sql, errno: errno, message: message,
                             restoredTables: pool.restored))
        }
        func checkWorkers() throws {
            guard pool.failure != nil else { return }
            // Let the data already queued for other tables finish, so the report is exact.
            pool.waitIdle()
            pool.cancel()
            let f = pool.failure!
            throw restoreError(line: f.line, sql: f.sql, errno: f.error.serverErrno ?? 0, message: Self.message(f.error))
        }
        func runMain(_ s: SQLStatement) throws {
            do {
                try s.text.withUnsafeBytes { try main.execute(bytes: $0, describe: { s.string }) }
            } catch let e as DBError {
                pool.waitIdle()
                pool.cancel()
                // A data connection may have failed on an earlier line meanwhile.
                if let f = pool.failure, f.line < s.line {
                    throw restoreError(line: f.line, sql: f.sql, errno: f.error.serverErrno ?? 0, message: Self.message(f.error))
                }
                throw restoreError(line: s.line, sql: s.string, errno: e.serverErrno ?? 0, message: Self.message(e))
            }
        }
        /// The connection for a statement of `table` that must keep its place in the file.
        func pinnedConnection(_ table: String) throws -> Int? {
            switch placement[table] {
            case .pinned(let i): return i
            case .spread:
                pool.waitDrained(table)
                try checkWorkers()
                placement[table] = nil
                return nil
            case nil: return nil
            }
        }

        while let s = try splitter.next() {
            try checkWorkers()
            stats.statements += 1
            switch StatementKind(s.text) {
            case .session:
                if spreadAllowed, Self.contains(s.text, "NO_BACKSLASH_ESCAPES") { spreadAllowed = false }
                if pool.count > 1, StatementKind.readsTables(s.text) {
                    pool.waitIdle()   // SET @v = (SELECT ...) sees every row loaded before it
                    try checkWorkers()
                }
                try runMain(s)
                pool.enqueueEverywhere(s)
                // A dump's `SET AUTOCOMMIT = 0` (phpMyAdmin, mysqldump --no-autocommit) pairs with a
                // COMMIT that runs on the schema connection only, so the data connections would
                // close with their INSERTs uncommitted and lose them. They commit each statement.
                if Self.contains(s.text, "AUTOCOMMIT") {
                    pool.enqueueEverywhere(SQLStatement(text: Array("SET SESSION autocommit=1".utf8), line: s.line))
                }
            case .data(let table):
                stats.dataStatements += 1
                let spread = spreadAllowed && StatementKind.isAnyOrderInsert(s.text)
                if !spread, pool.count > 1, StatementKind.readsTables(s.text) {
                    // Its rows depend on tables loading on other connections: run it after them.
                    pool.waitIdle()
                    try checkWorkers()
                    try runMain(s)
                } else if spread {
                    var home: Int?
                    switch placement[table] {
                    case .pinned:
                        pool.waitDrained(table)
                        try checkWorkers()
                    case .spread(let h): home = h
                    case nil: break
                    }
                    // A table keeps to its first connection while that one has room, so tables
                    // read at once mostly load on different connections (two connections
                    // inserting into the same B-tree edges cost the server ~15% more CPU).
                    let used = pool.enqueueLeastLoaded(s, table: table, preferred: home)
                    if home == nil { placement[table] = .spread(home: used) }
                    stats.spreadStatements += 1
                } else if let i = try pinnedConnection(table) {
                    pool.enqueue(s, table: table, on: i)
                } else {
                    placement[table] = .pinned(pool.enqueueLeastLoaded(s, table: table))
                }
            case .alterTable(let table, let endsData):
                var wasSpread = false
                if case .spread? = placement[table] { wasSpread = true }
                if let i = try pinnedConnection(table) {
                    pool.enqueue(s, table: table, on: i, endsData: endsData)
                } else if wasSpread {
                    // Every INSERT of the table has run; the ALTER (an index build on MyISAM)
                    // runs on a data connection so the reader moves on.
                    placement[table] = .pinned(pool.enqueueLeastLoaded(s, table: table, endsData: endsData))
                } else {
                    // Nothing of the table is queued anywhere (DISABLE KEYS before its data).
                    try runMain(s)
                    if endsData { pool.markRestored(table) }
                }
            case .tableDDL(let table, let isCreate):
                if isCreate, StatementKind.readsTables(s.text) {
                    pool.waitIdle()   // CREATE TABLE ... SELECT reads what the file loaded before it
                    try checkWorkers()
                }
                if placement[table] != nil {
                    pool.waitDrained(table)
                    try checkWorkers()
                    placement[table] = nil
                }
                try runMain(s)
                if isCreate { stats.tables += 1 }
            case .lock:
                stats.skippedLocks += 1
            case .other:
                pool.waitIdle()
                try checkWorkers()
                if spreadAllowed, Self.createsTrigger(s.text) { spreadAllowed = false }
                try runMain(s)
            }
        }
        pool.waitIdle()
        try checkWorkers()
        stats.bytes = splitter.bytesRead
        stats.statementsPerConnection = pool.statementsRun
        return stats
    }

    /// True when `needle` (upper-case ASCII) occurs in `text`, ignoring case.
    static func contains(_ text: [UInt8], _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard text.count >= n.count else { return false }
        return text.withUnsafeBufferPointer { b in
            outer: for i in 0...(b.count - n.count) {
                for k in 0..<n.count where (b[i + k] & 0xDF) != (n[k] & 0xDF) { continue outer }
                return true
            }
            return false
        }
    }

    /// True for `CREATE [DEFINER=...] TRIGGER ...`: once a table has a trigger, the order of its rows is observable.
    static func createsTrigger(_ text: [UInt8]) -> Bool {
        var t = Tokens(text)
        guard t.word() == "CREATE" else { return false }
        return contains(Array(text.prefix(512)), "TRIGGER")
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

    /// True when the statement holds the word SELECT outside quotes and backticks: it reads
    /// tables (`INSERT ... SELECT`, a subquery in VALUES, `CREATE TABLE ... AS SELECT`), so it
    /// must wait for every statement before it, whatever table those load.
    static func readsTables(_ text: [UInt8]) -> Bool {
        text.withUnsafeBufferPointer { p in
            let n = p.count
            var k = 0
            while k < n {
                let c = p[k]
                if c == 0x27 || c == 0x22 || c == 0x60 {   // ' " `
                    k = skipQuoted(p, from: k)
                    continue
                }
                if c | 0x20 == UInt8(ascii: "s"), isSelectWord(p, at: k) { return true }
                k += 1
            }
            return false
        }
    }

    /// Index after the quoted string or identifier opening at `k` (backslash escapes and
    /// doubled quotes inside strings, doubled backticks inside identifiers).
    static func skipQuoted(_ p: UnsafeBufferPointer<UInt8>, from k: Int) -> Int {
        let q = p[k], n = p.count
        var i = k + 1
        while i < n {
            let d = p[i]
            if d == 0x5C, q != 0x60 { i += 2; continue }
            if d == q {
                if i + 1 < n, p[i + 1] == q { i += 2; continue }
                return i + 1
            }
            i += 1
        }
        return n
    }

    /// True when the bytes at `k` are the word SELECT (any case) between non-identifier bytes.
    static func isSelectWord(_ p: UnsafeBufferPointer<UInt8>, at k: Int) -> Bool {
        let word: StaticString = "SELECT"
        let n = p.count
        guard k + 6 <= n, k == 0 || !isIdentifierByte(p[k - 1]) else { return false }
        if k + 6 < n, isIdentifierByte(p[k + 6]) { return false }
        let w = word.utf8Start
        for i in 0..<6 where p[k + i] & 0xDF != w[i] { return false }
        return true
    }

    private static func isIdentifierByte(_ b: UInt8) -> Bool {
        (b | 0x20 >= 97 && b | 0x20 <= 122) || (b >= 48 && b <= 57) || b == 95 || b == 36 || b >= 0x80
    }

    /// True for a plain `INSERT [LOW_PRIORITY|HIGH_PRIORITY] INTO t VALUES (...),...`
    /// of row tuples only: the order of such statements does not change the result
    /// (unlike INSERT IGNORE, REPLACE, ON DUPLICATE KEY UPDATE or INSERT ... SELECT).
    static func isAnyOrderInsert(_ text: [UInt8]) -> Bool {
        var t = Tokens(text)
        guard t.word() == "INSERT" else { return false }
        var w = t.word()
        while w == "LOW_PRIORITY" || w == "HIGH_PRIORITY" { w = t.word() }
        guard w == "INTO", t.name() != nil else { return false }
        return t.onlyRowTuples()
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

    /// After a table name: true when the rest is `VALUES`/`VALUE` and one or more `(...)`
    /// tuples, none opening with NULL or 0 (a generated AUTO_INCREMENT number) or holding a
    /// SELECT, separated by commas, with nothing after the last (no `ON DUPLICATE KEY
    /// UPDATE`, `RETURNING`, `SELECT`, `SET`). A column list makes it false: it may leave
    /// out an AUTO_INCREMENT column, and generated numbers follow the order of the rows
    /// (dumps write every column's value). Strings are skipped with backslash escapes and
    /// doubled quotes, as the server reads them by default (the restorer stops spreading
    /// once a dump sets NO_BACKSLASH_ESCAPES). One pass over the statement.
    mutating func onlyRowTuples() -> Bool {
        skip()
        let w = word()
        guard w == "VALUES" || w == "VALUE" else { return false }
        return b.withUnsafeBufferPointer { p in
            let n = p.count
            var k = i, depth = 0, tuples = 0
            while k < n {
                let c = p[k]
                if c == 0x27 || c == 0x22 || c == 0x60 {   // ' " `
                    k = StatementKind.skipQuoted(p, from: k)
                    continue
                }
                if c | 0x20 == UInt8(ascii: "s"), StatementKind.isSelectWord(p, at: k) {
                    return false   // a subquery reads other tables: its rows depend on what ran before
                }
                if c == UInt8(ascii: "(") {
                    depth += 1
                    // A tuple opening with NULL or 0 most likely asks an AUTO_INCREMENT first
                    // column for a number, and numbers follow the order the rows arrive in.
                    if depth == 1, Self.opensWithGeneratedKey(p, after: k) { return false }
                } else if c == UInt8(ascii: ")") {
                    depth -= 1
                    if depth < 0 { return false }
                    if depth == 0 { tuples += 1 }
                } else if depth == 0, c != UInt8(ascii: ","), c != 32, c != 9, c != 10, c != 13 {
                    return false
                }
                k += 1
            }
            return depth == 0 && tuples > 0
        }
    }

    /// True when the value after the `(` at `k` is `NULL` or `0`.
    static func opensWithGeneratedKey(_ p: UnsafeBufferPointer<UInt8>, after k: Int) -> Bool {
        let n = p.count
        var j = k + 1
        while j < n, p[j] == 32 || p[j] == 9 || p[j] == 10 || p[j] == 13 { j += 1 }
        var end = j
        if j < n, p[j] == UInt8(ascii: "0") {
            end = j + 1
        } else if j + 4 <= n, p[j] & 0xDF == 0x4E, p[j + 1] & 0xDF == 0x55, p[j + 2] & 0xDF == 0x4C, p[j + 3] & 0xDF == 0x4C {
            end = j + 4   // NULL
        } else {
            return false
        }
        while end < n, p[end] == 32 || p[end] == 9 || p[end] == 10 || p[end] == 13 { end += 1 }
        return end < n && (p[end] == UInt8(ascii: ",") || p[end] == UInt8(ascii: ")"))
    }

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
