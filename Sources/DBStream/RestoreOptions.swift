/// Settings of ``SQLRestorer``.
public struct RestoreOptions: Sendable {
    /// Data connections at most: beyond this the server's own threads, not the client, bound
    /// the load.
    public static let maxThreads = 16
    /// Bytes of statements and their LOAD DATA rows queued or running on all connections at
    /// once (a larger single statement runs alone).
    public static let queuedBytesLimit = 8 << 20

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
    /// Create InnoDB tables without their plain secondary keys (UNIQUE keys stay) and add them
    /// once each table's rows are in (one sorted build per key instead of a B-tree insert per
    /// row and key); see ``DeferredKeys`` for which tables qualify. The build sorts in the
    /// server's tmpdir (innodb_tmpdir).
    public var deferSecondaryKeys: Bool
    /// Send plain INSERTs of tables created in the file as `LOAD DATA LOCAL INFILE` rows
    /// (see ``LoadableTable``) when the server allows LOCAL INFILE (`local_infile`); each is
    /// checked (every row inserted, no warning) in a transaction and otherwise rolled back and
    /// run as the INSERT. The client never reads a file for it.
    public var loadData: Bool

    /// Makes options; the defaults suit a small machine.
    public init(threads: Int = 2, queueDepth: Int = 4, connectTimeout: Int = 10, readTimeout: Int = 3600,
                spreadTables: Bool = true, writeBinlog: Bool = true, deferSecondaryKeys: Bool = true,
                loadData: Bool = true) {
        self.threads = max(1, min(Self.maxThreads, threads))
        self.queueDepth = max(1, queueDepth)
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.spreadTables = spreadTables
        self.writeBinlog = writeBinlog
        self.deferSecondaryKeys = deferSecondaryKeys
        self.loadData = loadData
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
    /// Tables created without their secondary keys, which were added after their rows
    /// (see ``RestoreOptions/deferSecondaryKeys``).
    public var tablesWithDeferredKeys = 0
    /// INSERTs sent as LOAD DATA rows (see ``RestoreOptions/loadData``).
    public var loadedStatements = 0
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
