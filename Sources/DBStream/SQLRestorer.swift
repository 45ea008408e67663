import Foundation

/// Loads a plain `.sql` dump (fastbackup's, mariadb-dump's or Magento's own)
/// into the configured database, streaming with flat memory.
///
/// Runs with `FOREIGN_KEY_CHECKS=0` and `UNIQUE_CHECKS=0`. Statements are read
/// by ``SQLStatementSplitter`` and run on `threads` data connections besides the
/// schema connection:
/// - plain `INSERT INTO t VALUES (...),...` statements (no IGNORE, no column
///   list, no ON DUPLICATE KEY UPDATE, no SELECT, no row opening with NULL or 0 for an
///   AUTO_INCREMENT number) go to t's first connection while it
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
        func connect(localStream: Bool = false) throws -> MySQLConnection {
            let c = try MySQLConnection(config: config, useDatabase: true, connectTimeout: options.connectTimeout,
                                        readTimeout: options.readTimeout, writeTimeout: options.readTimeout,
                                        localStream: localStream)
            try c.execute("SET SESSION FOREIGN_KEY_CHECKS=0, UNIQUE_CHECKS=0, SQL_NOTES=0")
            // Needs SUPER or BINLOG ADMIN; without it the load is logged as usual.
            if !options.writeBinlog { try? c.execute("SET SESSION SQL_LOG_BIN=0") }
            return c
        }
        let main = try connect()
        // LOAD DATA needs the server's consent (local_infile), asked once.
        let loadData = options.loadData && (try? main.scalar("SELECT @@GLOBAL.local_infile")) == "1"
        var conns: [MySQLConnection] = []
        for _ in 0..<options.threads { conns.append(try connect(localStream: loadData)) }
        // A table counts as restored once its data's closing `ALTER TABLE ... ENABLE KEYS`
        // (written by fastbackup, mariadb-dump and Magento alike) has run.
        let pool = RestoreConnections(connections: conns, depth: options.queueDepth)
        try pool.start()
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
        /// Tables with a trigger: their rows load in file order on the schema connection, so what
        /// the trigger writes elsewhere (a log with AUTO_INCREMENT ids) gets the client's order.
        var triggered = Set<String>()
        /// Everything runs on the schema connection from here on: a temporary table exists only there.
        var serialOnly = false
        /// The schema connection holds an open transaction (autocommit off, or START TRANSACTION,
        /// and a write since): data queued elsewhere could wait on its locks while it waits for them.
        var autocommitOff = false, mainInTransaction = false
        /// The table whose statements the reader saw last: when another table's begin, its part
        /// of the file is over (``RestoreConnections/finishedReading(_:)``).
        var currentTable: String?
        /// Secondary keys held back from a table's CREATE TABLE until its rows are in
        /// (``DeferredKeys``), in file order: the ALTER that adds them, at the CREATE's line.
        var pendingKeys: [(table: String, build: SQLStatement)] = []
        /// The session's database, which names a held-back key's table in its build.
        var database = try main.scalar("SELECT DATABASE()")
        var deferAllowed = options.deferSecondaryKeys
        /// Tables a foreign key names: their keys are never held back (the key must exist).
        var referenced = Set<String>()
        /// Tables whose data opened with DISABLE KEYS: their ENABLE KEYS ends it, not the reader
        /// moving on (fastbackup's own dumps interleave the rows of several tables).
        var keysDisabled = Set<String>()
        /// Columns of the InnoDB tables this file created, for LOAD DATA (``LoadableTable``);
        /// dropped on anything that may change or rename a table.
        var loadable: [String: LoadableTable] = [:]
        /// Tables created in the file whose AUTO_INCREMENT column is not the first: a NULL or 0
        /// for it asks for a generated number, which follows the order rows arrive in, so their
        /// INSERTs are not spread (the spreading check looks at a row's first value only).
        var generatedLater = Set<String>()
        /// The connection of each table whose LOAD DATA rows are still coming.
        var loadingOn: [String: Int] = [:]
        /// The character set the INSERTs' bytes are in (character_set_client), when their strings
        /// reach the server in it too (character_set_connection the same): LOAD DATA then reads
        /// them in that set. Empty when the two differ or the set is not one LOAD DATA reads alike.
        func loadCharset() throws -> String {
            let rows: [[String?]] = try main.query("SELECT @@SESSION.character_set_client, @@SESSION.character_set_connection")
            guard let row = rows.first, row.count == 2, let client = row[0], client == row[1],
                  ["utf8mb4", "utf8mb3", "utf8", "latin1", "ascii", "binary"].contains(client) else { return "" }
            return client
        }
        var clientCharset = try loadCharset()
        /// False once the file sets an sql_mode that reads literals unlike LOAD DATA reads fields
        /// (EMPTY_STRING_IS_NULL), or creates a trigger on a table this reader cannot name.
        var loadAllowed = loadData
        /// The columns of `table` when its plain INSERTs may go as LOAD DATA rows now.
        func loadColumns(_ table: String) -> LoadableTable? {
            guard loadAllowed, splitter.backslashEscapes, !splitter.ansiQuotes, !clientCharset.isEmpty,
                  let t = loadable[table] else { return nil }
            return t
        }

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

        func holdsKeys(_ table: String) -> Bool { pendingKeys.contains { $0.table == table } }
        /// Queues the held-back keys of `table` behind every statement of it already queued.
        func buildKeys(_ table: String) throws {
            guard let k = pendingKeys.firstIndex(where: { $0.table == table }) else { return }
            let build = pendingKeys.remove(at: k).build
            if let i = try pinnedConnection(table) {
                pool.enqueue(build, table: table, on: i, endsData: true, keyBuild: true)
            } else {
                placement[table] = .pinned(pool.enqueueLeastLoaded(build, table: table, endsData: true, keyBuild: true))
            }
        }
        func buildAllKeys() throws {
            while let p = pendingKeys.first { try buildKeys(p.table) }
        }
        /// Before a statement that names other tables in a foreign key: their keys must exist.
        func buildReferencedKeys(_ s: SQLStatement) throws {
            guard let names = DeferredKeys.referencedTables(s.text), !names.contains(where: { $0.contains(".") }) else {
                deferAllowed = false
                try buildAllKeys()
                pool.waitIdle()
                try checkWorkers()
                return
            }
            for r in names {
                referenced.insert(r)
                try buildKeys(r)
                pool.waitDrained(r)   // a build queued at the table's ENABLE KEYS may still run
                try checkWorkers()
            }
        }
        func reading(_ table: String) throws {
            if let t = currentTable, t != table, !keysDisabled.contains(t) {
                loadingOn[t] = nil
                if holdsKeys(t) { try buildKeys(t) } else { pool.finishedReading(t) }
            }
            currentTable = table
        }

        func nextStatement() throws -> SQLStatement? {
            do {
                return try splitter.next()
            } catch {
                // An earlier statement may have failed on a data connection: that one is the
                // error to report (the client would have stopped there), not what comes after.
                pool.waitIdle()
                try checkWorkers()
                throw error
            }
        }

        do {
            while let s = try nextStatement() {
                try checkWorkers()
                stats.statements += 1
                let kind = StatementKind(s.text)
                switch kind {
                case .data(let t), .alterTable(let t, _), .tableDDL(let t, _): try reading(t)
                default: break
                }
                if serialOnly || mainInTransaction {
                    if case .session = kind {} else if case .lock = kind { stats.skippedLocks += 1; continue } else {
                        switch kind {
                        case .data(let t) where holdsKeys(t) && !StatementKind.isAnyOrderInsert(s.text): try buildKeys(t)
                        case .alterTable(let t, _) where !StatementKind.disablesKeys(s.text): try buildKeys(t); loadable[t] = nil
                        case .tableDDL(let t, _): try buildKeys(t); loadable[t] = nil
                        case .other: try buildAllKeys(); loadable.removeAll()
                        default: break
                        }
                        if StatementKind.hasWord(s.text, "REFERENCES") { try buildReferencedKeys(s) }
                        pool.waitIdle()
                        try checkWorkers()
                        try runMain(s)
                        switch kind {
                        case .tableDDL, .alterTable: mainInTransaction = false   // an implicit commit
                        case .other where Self.endsTransaction(s.text): mainInTransaction = false
                        default: break
                        }
                        if case .data = kind { stats.dataStatements += 1 }
                        continue
                    }
                }
                switch kind {
                case .session:
                    if spreadAllowed, Self.contains(s.text, "NO_BACKSLASH_ESCAPES") { spreadAllowed = false }
                    let selects = StatementKind.readsTables(s.text)
                    let readsTables = pool.count > 1 && selects
                    let changesMode = Self.contains(s.text, "SQL_MODE")
                    var first = Tokens(s.text)
                    let isUse = first.word() == "USE"
                    // Held-back keys are built under the session they were read in: the default database
                    // (USE) and sql_mode of their CREATE TABLE. A SELECT sees the table with its keys.
                    if readsTables || changesMode || isUse {
                        try buildAllKeys()
                    }
                    if readsTables {
                        pool.waitIdle()   // SET @v = (SELECT ...) sees every row loaded before it
                        try checkWorkers()
                    }
                    try runMain(s)
                    // `SET @v = (SELECT ...)` with autocommit off opens a transaction on the schema
                    // connection whose locks an ALTER on a data connection would wait for.
                    if autocommitOff, selects { mainInTransaction = true }
                    if changesMode {
                        // The splitter reads strings as the server will: follow NO_BACKSLASH_ESCAPES
                        // and ANSI_QUOTES as they come and go (a dump sets them around a trigger).
                        let mode = try main.scalar("SELECT @@SESSION.sql_mode") ?? ""
                        splitter.backslashEscapes = !mode.contains("NO_BACKSLASH_ESCAPES")
                        splitter.ansiQuotes = mode.contains("ANSI_QUOTES")
                        if mode.contains("EMPTY_STRING_IS_NULL") { loadAllowed = false }
                    }
                    if Self.contains(s.text, "NAMES") || Self.contains(s.text, "CHARACTER") || Self.contains(s.text, "CHARSET")
                        || Self.contains(s.text, "COLLATION") {
                        clientCharset = try loadCharset()
                    }
                    if isUse {
                        loadable.removeAll()   // the names now mean other tables
                        database = try main.scalar("SELECT DATABASE()")
                    }
                    pool.enqueueEverywhere(s)
                    // A dump's `SET AUTOCOMMIT = 0` (phpMyAdmin, mysqldump --no-autocommit) pairs with a
                    // COMMIT that runs on the schema connection only, so the data connections would
                    // close with their INSERTs uncommitted and lose them. They commit each statement.
                    if Self.contains(s.text, "AUTOCOMMIT") {
                        pool.enqueueEverywhere(SQLStatement(text: Array("SET SESSION autocommit=1".utf8), line: s.line))
                        autocommitOff = Self.setsAutocommitOff(s.text)
                    }
                case .data(let table):
                    stats.dataStatements += 1
                    // Rows sent as LOAD DATA stay on one connection per table: InnoDB holds a table's
                    // AUTO-INC lock for a whole LOAD DATA (innodb_autoinc_lock_mode 1), so a second
                    // connection loading the same table would only wait for the first.
                    let columns = loadColumns(table)
                    // Rows that convert are literal rows only: no SELECT, IGNORE, REPLACE or ON DUPLICATE
                    // KEY, so the checks below need not read the statement again. The 2 MiB cap (dumps
                    // write about 1 MiB) keeps the converted rows of queued statements (up to twice the
                    // statement each) small.
                    let load = s.text.count <= 2 << 20 ? columns?.rows(of: s.text).map {
                        RestoreConnections.Load(rows: $0, charset: clientCharset)
                    } : nil
                    let spread = spreadAllowed && columns == nil && !generatedLater.contains(table)
                    && StatementKind.isAnyOrderInsert(s.text)
                    // IGNORE, REPLACE and ON DUPLICATE KEY UPDATE act on the unique keys: build them first.
                    if holdsKeys(table), !spread, load == nil, !StatementKind.isAnyOrderInsert(s.text) { try buildKeys(table) }
                    if triggered.contains(table) {
                        pool.waitIdle()
                        try checkWorkers()
                        try runMain(s)
                        if autocommitOff { mainInTransaction = true }
                    } else if !spread, load == nil, pool.count > 1, StatementKind.readsTables(s.text) {
                        // Its rows depend on tables loading on other connections: run it after them.
                        try buildAllKeys()
                        pool.waitIdle()
                        try checkWorkers()
                        try runMain(s)
                        if autocommitOff { mainInTransaction = true }
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
                        pool.enqueue(s, table: table, on: i, load: load)
                    } else if columns != nil {
                        // The connection with the fewest tables still loading, so tables read at once
                        // load side by side.
                        var open = [Int](repeating: 0, count: pool.count)
                        for c in loadingOn.values { open[c] += 1 }
                        let i = open.indices.min { open[$0] < open[$1] }!
                        pool.enqueue(s, table: table, on: i, load: load)
                        placement[table] = .pinned(i)
                        loadingOn[table] = i
                    } else {
                        placement[table] = .pinned(pool.enqueueLeastLoaded(s, table: table))
                    }
                case .alterTable(let table, let endsData) where StatementKind.hasWord(s.text, "REFERENCES"):
                    // A foreign key needs the referenced table's index, which an ALTER queued on that
                    // table's connection may still be adding (phpMyAdmin adds keys, then constraints).
                    try buildKeys(table)
                    try buildReferencedKeys(s)
                    loadable[table] = nil   // the same ALTER may change columns
                    pool.waitIdle()
                    try checkWorkers()
                    if placement[table] != nil { placement[table] = nil }
                    try runMain(s)
                    if endsData { pool.markRestored(table) }
                case .alterTable(let table, var endsData):
                    // DISABLE KEYS opens a table's rows; ENABLE KEYS closes them, and the held-back keys
                    // follow it; any other ALTER may need them (or drop one), so they come first.
                    let holds = holdsKeys(table)
                    if endsData { loadingOn[table] = nil }
                    if !endsData && !StatementKind.disablesKeys(s.text) { loadable[table] = nil }
                    if StatementKind.disablesKeys(s.text) {
                        keysDisabled.insert(table)
                    } else if holds && !endsData {
                        try buildKeys(table)
                    }
                    let buildAfter = holds && endsData
                    if buildAfter { endsData = false }   // the build ends the table's data
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
                    if buildAfter { try buildKeys(table) }
                case .tableDDL(let table, let isCreate):
                    let readsTables = isCreate && (StatementKind.readsTables(s.text) || StatementKind.hasWord(s.text, "LIKE"))
                    if readsTables {
                        try buildAllKeys()   // LIKE copies the keys, SELECT reads with them
                        pool.waitIdle()   // CREATE TABLE ... SELECT reads what the file loaded before it
                        try checkWorkers()
                    }
                    if isCreate, StatementKind.hasWord(s.text, "REFERENCES") { try buildReferencedKeys(s) }
                    try buildKeys(table)   // a DROP (or a second CREATE) of a table still holding keys
                    if !isCreate {
                        // A DROP runs only once every statement before it has: the client stops at a
                        // failed INSERT and never reaches the DROPs after it, and neither may a restore.
                        pool.waitIdle()
                        try checkWorkers()
                        placement[table] = nil
                        triggered.remove(table)
                    } else if placement[table] != nil {
                        pool.waitDrained(table)
                        try checkWorkers()
                        placement[table] = nil
                    }
                    loadable[table] = isCreate ? LoadableTable(create: s.text) : nil
                    if isCreate, let p = LoadableTable.autoIncrementPosition(create: s.text), p > 0 {
                        generatedLater.insert(table)
                    } else {
                        generatedLater.remove(table)
                    }
                    loadingOn[table] = nil
                    if isCreate, deferAllowed, !readsTables, !referenced.contains(table), let d = DeferredKeys(create: s.text, database: database, unique: splitter.writtenByFastbackup) {
                        try runMain(SQLStatement(text: d.create, line: s.line))
                        pendingKeys.append((table, SQLStatement(text: d.build, line: s.line)))
                        stats.tablesWithDeferredKeys += 1
                    } else {
                        try runMain(s)
                    }
                    if isCreate { stats.tables += 1 }
                case .lock:
                    stats.skippedLocks += 1
                case .other:
                    // Views, routines, triggers, RENAME, multi-table DROP: all may name a table that
                    // still holds keys. After a trigger no more keys are held back: one that writes
                    // another table with ON DUPLICATE KEY UPDATE needs that table's unique keys.
                    try buildAllKeys()
                    if Self.createsTrigger(s.text) { deferAllowed = false }
                    if StatementKind.hasWord(s.text, "TABLE") || StatementKind.hasWord(s.text, "RENAME") { loadable.removeAll() }
                    pool.waitIdle()
                    try checkWorkers()
                    if Self.createsTrigger(s.text) {
                        if let table = StatementKind.triggerTable(s.text) {
                            triggered.insert(table)
                        } else {
                            spreadAllowed = false
                            loadAllowed = false   // a rolled-back LOAD would fire its triggers twice in MyISAM tables
                        }
                    }
                    if StatementKind.createsTemporaryTable(s.text) { serialOnly = true }
                    try runMain(s)
                    if Self.endsTransaction(s.text) {
                        mainInTransaction = false
                    } else if autocommitOff || StatementKind.startsTransaction(s.text) {
                        mainInTransaction = true
                    }
                }
            }
            try buildAllKeys()
            pool.waitIdle()
            try checkWorkers()
        } catch {
            // The client's tables have their keys whatever failed: add those still held back, or
            // queued on a connection that stopped before it reached them (each names its table
            // with its database).
            pool.waitIdle()
            pool.cancel()
            for build in pendingKeys.map(\.build) + pool.droppedKeyBuilds {
                _ = try? build.text.withUnsafeBytes { try main.execute(bytes: $0, describe: { build.string }) }
            }
            throw error
        }
        stats.bytes = splitter.bytesRead
        stats.statementsPerConnection = pool.statementsRun
        stats.loadedStatements = pool.loadsRun.reduce(0, +)
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

    /// COMMIT or ROLLBACK (not ROLLBACK TO SAVEPOINT).
    static func endsTransaction(_ text: [UInt8]) -> Bool {
        var t = Tokens(text)
        let w = t.word()
        if w == "COMMIT" { return true }
        return w == "ROLLBACK" && t.word() != "TO"
    }

    /// For a SET naming AUTOCOMMIT: whether it turns it off (`= 0`, `= OFF`).
    static func setsAutocommitOff(_ text: [UInt8]) -> Bool {
        let upper = String(decoding: text, as: UTF8.self).uppercased()
        guard let r = upper.range(of: "AUTOCOMMIT") else { return false }
        let rest = upper[r.upperBound...].drop { $0 == " " || $0 == "=" || $0 == "\t" }
        return rest.hasPrefix("0") || rest.hasPrefix("OFF") || rest.hasPrefix("FALSE")
    }

    static func message(_ e: DBError) -> String {
        if case .query(_, _, let m) = e.kind { return m }
        return e.description
    }
}
