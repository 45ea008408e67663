/// Settings of ``SQLDumper``.
///
/// Memory is bounded by construction: at most
/// `threads * (queueDepth + 1) + 1` chunks of `chunkBytes` exist at once,
/// plus what the client library holds for the largest single row.
public struct DumpOptions: Sendable {
    /// Connections reading tables at once (1...16). With more than one, the
    /// connections share one snapshot: commits are blocked briefly (MariaDB
    /// `BACKUP STAGE BLOCK_COMMIT`, else `FLUSH TABLES WITH READ LOCK`) while
    /// they start their transactions. Without the privilege for that, one connection is used.
    public var threads: Int
    /// Upper bound of one extended INSERT in bytes (a single row larger than
    /// this gets a statement of its own). Lowered to the source server's
    /// `max_allowed_packet` less 1 KiB; keep it below the restoring server's too.
    public var maxStatementBytes: Int
    /// Size of one output buffer; the file is written in pieces of this size. When it
    /// exceeds `maxStatementBytes`, every buffer ends on a statement boundary, where the
    /// writer can switch between tables being read at the same time.
    public var chunkBytes: Int
    /// Chunks a table may have waiting for the writer before its reader pauses.
    public var queueDepth: Int
    /// Seconds for connecting.
    public var connectTimeout: Int
    /// Seconds a read from the server may take before the dump fails (a hung server).
    public var readTimeout: Int
    /// Seconds to wait for the brief commit block that shares the snapshot (`lock_wait_timeout`).
    public var lockWaitTimeout: Int
    /// Dump stored procedures and functions.
    public var routines: Bool
    /// Dump triggers.
    public var triggers: Bool
    /// Dump events.
    public var events: Bool
    /// Tables stripped (structure, no rows) or left out (n98-magerun2's `--strip`, `--include`,
    /// `--exclude`); empty: every table whole.
    public var selection = TableSelection()
    /// The source server's `max_allowed_packet` less 1 KiB, set by the dump: no statement of
    /// the file may be longer (the restore would be refused), a single row included.
    var packetLimit = Int.max

    /// Makes options; the defaults suit a Magento database on a small machine.
    public init(threads: Int = 2, maxStatementBytes: Int = 1 << 20, chunkBytes: Int = (1 << 20) + (64 << 10),
                queueDepth: Int = 4, connectTimeout: Int = 10, readTimeout: Int = 600,
                lockWaitTimeout: Int = 30, routines: Bool = true, triggers: Bool = true, events: Bool = true) {
        self.threads = max(1, min(16, threads))
        self.maxStatementBytes = max(4096, maxStatementBytes)
        self.chunkBytes = max(16 << 10, chunkBytes)
        self.queueDepth = max(1, queueDepth)
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.lockWaitTimeout = lockWaitTimeout
        self.routines = routines
        self.triggers = triggers
        self.events = events
    }
}

/// What a dump wrote.
public struct DumpStats: Sendable, Equatable {
    /// How the connections came to share one snapshot.
    public enum Snapshot: String, Sendable {
        /// One connection: its own transaction is the snapshot.
        case single
        /// Several connections started while `BACKUP STAGE BLOCK_COMMIT` held commits.
        case backupStage = "backup-stage"
        /// Several connections started under `FLUSH TABLES WITH READ LOCK`.
        case flushTablesWithReadLock = "ftwrl"
    }
    /// Base tables dumped.
    public var tables = 0
    /// Rows written.
    public var rows = 0
    /// Bytes written to the file.
    public var bytes = 0
    /// Views.
    public var views = 0
    /// Triggers.
    public var triggers = 0
    /// Stored procedures and functions.
    public var routines = 0
    /// Events.
    public var events = 0
    /// INSERT statements.
    public var insertStatements = 0
    /// Connections that read table data.
    public var connections = 0
    /// How the snapshot was shared.
    public var snapshot = Snapshot.single
    /// Tables (and views) written without rows, and left out, by ``DumpOptions/selection``.
    public var stripped: [String] = []
    public var excluded: [String] = []

    /// Empty stats.
    public init() {}
}
