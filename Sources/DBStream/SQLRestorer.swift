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
        return try RestoreSession(path: path, splitter: splitter, main: main, pool: pool,
                                  options: options, loadData: loadData).run()
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
