import Foundation

/// One restore in progress: the schema connection, the data connections and what the reader
/// has learnt of the file so far. Split as myloader splits its work: this file reads statements
/// and runs the schema (`DROP`/`CREATE`, views, triggers, session settings); `RestoreRows.swift`
/// places each table's rows on the data connections; `RestoreKeys.swift` holds secondary keys
/// back until a table's rows are in and builds them.
final class RestoreSession {
    /// Where each table's statements go. `.pinned`: one connection, in file order (any
    /// statement whose order may matter). `.spread`: plain INSERTs on `home` or whichever
    /// connection has room; a barrier first waits for all of them to finish.
    enum Placement { case pinned(Int), spread(home: Int) }

    let path: String
    let splitter: SQLStatementSplitter
    let main: MySQLConnection
    let pool: RestoreConnections
    var stats = RestoreStats()

    var placement: [String: Placement] = [:]
    /// Spreading stays on until something makes row order observable (a trigger) or the split
    /// of a statement could be misread (NO_BACKSLASH_ESCAPES).
    var spreadAllowed: Bool
    /// Tables with a trigger: their rows load in file order on the schema connection, so what
    /// the trigger writes elsewhere (a log with AUTO_INCREMENT ids) gets the client's order.
    var triggered = Set<String>()
    /// Everything runs on the schema connection from here on: a temporary table exists only there.
    var serialOnly = false
    /// The schema connection holds an open transaction (autocommit off, or START TRANSACTION,
    /// and a write since): data queued elsewhere could wait on its locks while it waits for them.
    var autocommitOff = false
    var mainInTransaction = false
    /// The table whose statements the reader saw last: when another table's begin, its part
    /// of the file is over (``RestoreConnections/finishedReading(_:)``).
    var currentTable: String?
    /// Secondary keys held back from a table's CREATE TABLE until its rows are in
    /// (``DeferredKeys``), in file order: the ALTER that adds them, at the CREATE's line.
    var pendingKeys: [(table: String, build: SQLStatement)] = []
    /// The session's database, which names a held-back key's table in its build.
    var database: String?
    var deferAllowed: Bool
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
    /// The character set the INSERTs' bytes are in (see ``loadCharset()``).
    var clientCharset = ""
    /// False once the file sets an sql_mode that reads literals unlike LOAD DATA reads fields
    /// (EMPTY_STRING_IS_NULL), or creates a trigger on a table this reader cannot name.
    var loadAllowed: Bool

    init(path: String, splitter: SQLStatementSplitter, main: MySQLConnection, pool: RestoreConnections,
         options: RestoreOptions, loadData: Bool) throws {
        self.path = path
        self.splitter = splitter
        self.main = main
        self.pool = pool
        spreadAllowed = options.spreadTables && pool.count > 1
        deferAllowed = options.deferSecondaryKeys
        loadAllowed = loadData
        database = try main.scalar("SELECT DATABASE()")
        clientCharset = try loadCharset()
    }

    /// Reads and runs every statement; on a failure, builds the keys still held back (the
    /// client's tables have their keys whatever failed) and throws.
    func run() throws -> RestoreStats {
        do {
            while let s = try nextStatement() {
                try checkWorkers()
                stats.statements += 1
                let kind = StatementKind(s.text)
                switch kind {
                case .data(let t), .alterTable(let t, _), .tableDDL(let t, _): try reading(t)
                default: break
                }
                if serialOnly || mainInTransaction, try runSerially(s, kind) { continue }
                switch kind {
                case .session: try session(s)
                case .data(let table): try rows(s, table: table)
                case .alterTable(let table, let endsData) where StatementKind.hasWord(s.text, "REFERENCES"):
                    try foreignKeyAlter(s, table: table, endsData: endsData)
                case .alterTable(let table, let endsData): try alter(s, table: table, endsData: endsData)
                case .tableDDL(let table, let isCreate): try tableDDL(s, table: table, isCreate: isCreate)
                case .lock: stats.skippedLocks += 1
                case .other: try other(s)
                }
            }
            try buildAllKeys()
            pool.waitIdle()
            try checkWorkers()
        } catch {
            // Keys held back, or queued on a connection that stopped before it reached them
            // (each names its table with its database).
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

    // MARK: - Reading

    private func nextStatement() throws -> SQLStatement? {
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

    private func reading(_ table: String) throws {
        if let t = currentTable, t != table, !keysDisabled.contains(t) {
            loadingOn[t] = nil
            if holdsKeys(t) { try buildKeys(t) } else { pool.finishedReading(t) }
        }
        currentTable = table
    }

    // MARK: - Running and failing

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
        throw restoreError(line: f.line, sql: f.sql, errno: f.error.serverErrno ?? 0, message: SQLRestorer.message(f.error))
    }

    /// Waits until every queued statement has run, then reports the first failure.
    func barrier() throws {
        pool.waitIdle()
        try checkWorkers()
    }

    func runMain(_ s: SQLStatement) throws {
        do {
            try s.text.withUnsafeBytes { try main.execute(bytes: $0, describe: { s.string }) }
        } catch let e as DBError {
            pool.waitIdle()
            pool.cancel()
            // A data connection may have failed on an earlier line meanwhile.
            if let f = pool.failure, f.line < s.line {
                throw restoreError(line: f.line, sql: f.sql, errno: f.error.serverErrno ?? 0, message: SQLRestorer.message(f.error))
            }
            throw restoreError(line: s.line, sql: s.string, errno: e.serverErrno ?? 0, message: SQLRestorer.message(e))
        }
    }

    /// With a temporary table or an open transaction on the schema connection, everything but
    /// session statements runs there, after all queued work. True when `s` was handled.
    private func runSerially(_ s: SQLStatement, _ kind: StatementKind) throws -> Bool {
        if case .session = kind { return false }
        if case .lock = kind { stats.skippedLocks += 1; return true }
        switch kind {
        case .data(let t) where holdsKeys(t) && !StatementKind.isAnyOrderInsert(s.text): try buildKeys(t)
        case .alterTable(let t, _) where !StatementKind.disablesKeys(s.text): try buildKeys(t); loadable[t] = nil
        case .tableDDL(let t, _): try buildKeys(t); loadable[t] = nil
        case .other: try buildAllKeys(); loadable.removeAll()
        default: break
        }
        if StatementKind.hasWord(s.text, "REFERENCES") { try buildReferencedKeys(s) }
        try barrier()
        try runMain(s)
        switch kind {
        case .tableDDL, .alterTable: mainInTransaction = false   // an implicit commit
        case .other where SQLRestorer.endsTransaction(s.text): mainInTransaction = false
        default: break
        }
        if case .data = kind { stats.dataStatements += 1 }
        return true
    }

    // MARK: - Schema and session

    private func session(_ s: SQLStatement) throws {
        if spreadAllowed, SQLRestorer.contains(s.text, "NO_BACKSLASH_ESCAPES") { spreadAllowed = false }
        let selects = StatementKind.readsTables(s.text)
        let readsTables = pool.count > 1 && selects
        let changesMode = SQLRestorer.contains(s.text, "SQL_MODE")
        var first = Tokens(s.text)
        let isUse = first.word() == "USE"
        // Held-back keys are built under the session they were read in: the default database
        // (USE) and sql_mode of their CREATE TABLE. A SELECT sees the table with its keys.
        if readsTables || changesMode || isUse { try buildAllKeys() }
        if readsTables { try barrier() }   // SET @v = (SELECT ...) sees every row loaded before it
        try runMain(s)
        // `SET @v = (SELECT ...)` with autocommit off opens a transaction on the schema
        // connection whose locks an ALTER on a data connection would wait for.
        if autocommitOff, selects { mainInTransaction = true }
        if changesMode {
            // The splitter reads strings as the server will: follow NO_BACKSLASH_ESCAPES and
            // ANSI_QUOTES as they come and go (a dump sets them around a trigger).
            let mode = try main.scalar("SELECT @@SESSION.sql_mode") ?? ""
            splitter.backslashEscapes = !mode.contains("NO_BACKSLASH_ESCAPES")
            splitter.ansiQuotes = mode.contains("ANSI_QUOTES")
            if mode.contains("EMPTY_STRING_IS_NULL") { loadAllowed = false }
        }
        if SQLRestorer.contains(s.text, "NAMES") || SQLRestorer.contains(s.text, "CHARACTER") || SQLRestorer.contains(s.text, "CHARSET")
            || SQLRestorer.contains(s.text, "COLLATION") {
            clientCharset = try loadCharset()
        }
        if isUse {
            loadable.removeAll()   // the names now mean other tables
            database = try main.scalar("SELECT DATABASE()")
        }
        pool.enqueueEverywhere(s)
        // A dump's `SET AUTOCOMMIT = 0` (phpMyAdmin, mysqldump --no-autocommit) pairs with a
        // COMMIT that runs on the schema connection only, so the data connections would close
        // with their INSERTs uncommitted and lose them. They commit each statement.
        if SQLRestorer.contains(s.text, "AUTOCOMMIT") {
            pool.enqueueEverywhere(SQLStatement(text: Array("SET SESSION autocommit=1".utf8), line: s.line))
            autocommitOff = SQLRestorer.setsAutocommitOff(s.text)
        }
    }

    private func tableDDL(_ s: SQLStatement, table: String, isCreate: Bool) throws {
        let readsTables = isCreate && (StatementKind.readsTables(s.text) || StatementKind.hasWord(s.text, "LIKE"))
        if readsTables {
            try buildAllKeys()   // LIKE copies the keys, SELECT reads with them
            try barrier()   // CREATE TABLE ... SELECT reads what the file loaded before it
        }
        if isCreate, StatementKind.hasWord(s.text, "REFERENCES") { try buildReferencedKeys(s) }
        try buildKeys(table)   // a DROP (or a second CREATE) of a table still holding keys
        if !isCreate {
            // A DROP runs only once every statement before it has: the client stops at a
            // failed INSERT and never reaches the DROPs after it, and neither may a restore.
            try barrier()
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
        if isCreate, deferAllowed, !readsTables, !referenced.contains(table),
           let d = DeferredKeys(create: s.text, database: database, unique: splitter.writtenByFastbackup) {
            try runMain(SQLStatement(text: d.create, line: s.line))
            pendingKeys.append((table, SQLStatement(text: d.build, line: s.line)))
            stats.tablesWithDeferredKeys += 1
        } else {
            try runMain(s)
        }
        if isCreate { stats.tables += 1 }
    }

    /// Views, routines, triggers, RENAME, multi-table DROP: all may name a table that still
    /// holds keys. After a trigger no more keys are held back: one that writes another table
    /// with ON DUPLICATE KEY UPDATE needs that table's unique keys.
    private func other(_ s: SQLStatement) throws {
        try buildAllKeys()
        let trigger = SQLRestorer.createsTrigger(s.text)
        if trigger { deferAllowed = false }
        if StatementKind.hasWord(s.text, "TABLE") || StatementKind.hasWord(s.text, "RENAME") { loadable.removeAll() }
        try barrier()
        if trigger {
            if let table = StatementKind.triggerTable(s.text) {
                triggered.insert(table)
            } else {
                spreadAllowed = false
                loadAllowed = false   // a rolled-back LOAD would fire its triggers twice in MyISAM tables
            }
        }
        if StatementKind.createsTemporaryTable(s.text) { serialOnly = true }
        try runMain(s)
        if SQLRestorer.endsTransaction(s.text) {
            mainInTransaction = false
        } else if autocommitOff || StatementKind.startsTransaction(s.text) {
            mainInTransaction = true
        }
    }

    /// The character set the INSERTs' bytes are in (character_set_client), when their strings
    /// reach the server in it too (character_set_connection the same): LOAD DATA then reads
    /// them in that set. Empty when the two differ or the set is not one LOAD DATA reads alike.
    private func loadCharset() throws -> String {
        let rows: [[String?]] = try main.query("SELECT @@SESSION.character_set_client, @@SESSION.character_set_connection")
        guard let row = rows.first, row.count == 2, let client = row[0], client == row[1],
              ["utf8mb4", "utf8mb3", "utf8", "latin1", "ascii", "binary"].contains(client) else { return "" }
        return client
    }
}
