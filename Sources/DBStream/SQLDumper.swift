import CMariaDB
import Foundation
import ThreadKit

/// Dumps one database as plain SQL that the `mariadb` client (and Magento's
/// rollback) loads as is, from one consistent snapshot, with memory bounded
/// whatever the database size.
///
/// Output order: header SETs (saved and restored in the footer); for every
/// base table (whatever its prefix) `DROP TABLE IF EXISTS`, `SHOW CREATE
/// TABLE` and extended INSERTs; stored procedures and functions; views
/// (stand-ins first, so views on views load in any order); triggers; events.
/// DEFINER clauses are removed. Routines come before views because a view
/// may call a stored function, and MariaDB checks that when it creates the view.
/// With several connections, whole statements of tables read at the same time
/// interleave in the file (each table's DROP and CREATE still precede its rows,
/// and its ENABLE KEYS follows them), so both connections keep streaming.
///
/// Rows are read unbuffered (`mysql_use_result`), never paged with LIMIT, and
/// formatted into INSERTs of at most ``DumpOptions/maxStatementBytes`` each
/// (one per line). Values: NULL; numbers (DECIMAL, FLOAT, DOUBLE as the
/// server's text) bare; binary strings, BLOB, GEOMETRY and BIT as hex `0x...`
/// (empty binary as ''); everything else quoted with backslash escapes so
/// each INSERT stays on one line. TIMESTAMPs are read and written in UTC.
/// Generated columns are left out (the INSERT then names its columns), and
/// invisible columns are kept.
public final class SQLDumper {
    /// Where to connect and which database to dump.
    public let config: DatabaseConfig
    /// How to dump.
    public let options: DumpOptions

    /// Makes a dumper; nothing connects until ``dump(to:path:)``.
    public init(config: DatabaseConfig, options: DumpOptions = .init()) {
        self.config = config
        self.options = options
    }

    /// Writes the whole dump to an open file descriptor (the caller handles the
    /// temporary name, the rename, and removing the file on failure).
    /// - Parameter path: used in error messages only.
    /// - Throws: ``DBError``: `.connect`; `.query` (also for a connection lost
    ///   or a server killed mid-way, with the statement); `.io` for write errors such as ENOSPC.
    public func dump(to fd: Int32, path: String) throws -> DumpStats {
        var stats = DumpStats()
        let coordinator = try connect()
        try coordinator.execute("SET SESSION sql_mode='', time_zone='+00:00', SQL_QUOTE_SHOW_CREATE=1")
        try coordinator.execute(SQLDumper.noLimits)
        let serverVersion = coordinator.serverVersion
        // An INSERT must fit in one packet of a server like this one: stay 1 KiB under its limit.
        var options = self.options
        if let packet = Int(try coordinator.scalar("SELECT @@max_allowed_packet") ?? ""), packet > 8192 {
            options.maxStatementBytes = min(options.maxStatementBytes, packet - 1024)
            options.packetLimit = packet - 1024
        }

        var tables: [String] = [], views: [String] = [], sequences: [String] = []
        for row in try coordinator.query("SHOW FULL TABLES") {
            guard let name = row[0], row.count > 1 else { continue }
            switch row[1] ?? "" {
            case "BASE TABLE", "SYSTEM VERSIONED": tables.append(name)   // versioned: current rows only
            case "VIEW": views.append(name)
            case "SEQUENCE": sequences.append(name)
            default: break   // system views are not table data
            }
        }
        let selected = try options.selection.resolve(tables: tables + views + sequences)
        stats.stripped = selected.stripped.sorted()
        stats.excluded = selected.excluded.sorted()
        tables.removeAll { selected.excluded.contains($0) }
        views.removeAll { selected.excluded.contains($0) }
        sequences.removeAll { selected.excluded.contains($0) }
        let objects = try SchemaObjects.read(conn: coordinator, database: config.database, views: views, options: options,
                                             excludedTables: selected.excluded)
        let sequencesSQL = try Self.sequences(sequences, conn: coordinator)

        // Readers and their shared snapshot.
        let wanted = max(1, min(options.threads, tables.count))
        var readers: [MySQLConnection] = []
        for _ in 0..<wanted { readers.append(try connect()) }
        for r in readers {
            try r.execute("SET SESSION sql_mode='', time_zone='+00:00', SQL_QUOTE_SHOW_CREATE=1, "
                          + "net_write_timeout=86400, net_read_timeout=86400")
            try r.execute(SQLDumper.noLimits)
            try r.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        }
        stats.snapshot = try startSnapshot(coordinator: coordinator, readers: &readers)
        stats.connections = readers.count

        let tableList = tables
        let noRows = selected.stripped
        let pipeline = DumpPipeline(jobs: tables.count, readers: readers.count,
                                    depth: options.queueDepth, chunkBytes: options.chunkBytes)
        let group = DispatchGroup()
        for (reader, conn) in readers.enumerated() {
            do {
                try startThread(named: "dump-\(reader)", stackSize: ThreadStack.standard, group: group) { [options] in
                    do {
                        while let job = pipeline.takeJob(reader: reader) {
                            try SQLDumper.dumpTable(tableList[job], lane: job, conn: conn, pipeline: pipeline, options: options,
                                                    rows: !noRows.contains(tableList[job]))
                        }
                    } catch {
                        pipeline.fail(error)
                    }
                }
            } catch {
                // The readers already started see the failure at their next chunk and stop.
                pipeline.fail(DBError(.cancelled))
                group.wait()
                throw DBError(error)
            }
        }

        do {
            var bytes = 0
            func put(_ s: String) throws {
                var s = s
                try s.withUTF8 { b in if let p = b.baseAddress { try writeAll(fd: fd, path: path, p, b.count) } }
                bytes += s.utf8.count
            }
            try put(header(serverVersion: serverVersion, tables: tables.count, snapshot: stats.snapshot, selected: selected))
            try put(sequencesSQL)
            var stay: Int? = nil
            while let (lane, c) = try pipeline.next(stay: stay) {
                defer { pipeline.release(c) }
                try writeAll(fd: fd, path: path, c.base, c.count)
                bytes += c.count
                stay = c.endsStatement ? nil : lane
            }
            for i in tables.indices {
                let n = pipeline.counts(lane: i)
                stats.rows += n.rows
                stats.insertStatements += n.statements
            }
            try put(objects.routinesSQL)
            try put(objects.viewsSQL)
            try put(objects.triggersSQL)
            try put(objects.eventsSQL)
            try put(footer)
            stats.bytes = bytes
        } catch {
            pipeline.fail(error)
            group.wait()
            throw error
        }
        group.wait()
        if let f = pipeline.failure { throw f }
        stats.tables = tables.count
        stats.views = objects.views
        stats.triggers = objects.triggers
        stats.routines = objects.routines
        stats.events = objects.events
        return stats
    }

    private func connect() throws -> MySQLConnection {
        try MySQLConnection(config: config, useDatabase: true, connectTimeout: options.connectTimeout,
                            readTimeout: options.readTimeout, writeTimeout: options.readTimeout)
    }

    private static let startTransaction = "START TRANSACTION /*!40100 WITH CONSISTENT SNAPSHOT */"

    /// Starts the readers' transactions at one point in time. Several readers need
    /// commits held while they start; without the privilege, one reader is kept.
    private func startSnapshot(coordinator: MySQLConnection, readers: inout [MySQLConnection]) throws -> DumpStats.Snapshot {
        if readers.count == 1 {
            try readers[0].execute(SQLDumper.startTransaction)
            return .single
        }
        try coordinator.execute("SET SESSION lock_wait_timeout=\(max(1, options.lockWaitTimeout))")
        var mode = DumpStats.Snapshot.single
        var timedOut = false
        if coordinator.isMariaDB {
            do {
                try coordinator.execute("BACKUP STAGE START")
                do { try coordinator.execute("BACKUP STAGE BLOCK_COMMIT") } catch {
                    try? coordinator.execute("BACKUP STAGE END")
                    throw error
                }
                mode = .backupStage
            } catch let e as DBError {
                // A lock wait timeout means a long commit is running: FLUSH TABLES WITH READ
                // LOCK would wait as long and block more, so use one connection instead.
                timedOut = e.serverErrno == 1205
            }
        }
        if mode == .single, !timedOut, (try? coordinator.execute("FLUSH TABLES WITH READ LOCK")) != nil {
            mode = .flushTablesWithReadLock
        }
        if mode == .single { readers = [readers[0]] }
        defer {
            switch mode {
            case .backupStage: try? coordinator.execute("BACKUP STAGE END")
            case .flushTablesWithReadLock: try? coordinator.execute("UNLOCK TABLES")
            case .single: break
            }
        }
        for r in readers { try r.execute(SQLDumper.startTransaction) }
        return mode
    }

    private enum ValueKind { case bare, quoted, hex }

    /// MariaDB sequences, before the tables (a column default may call `NEXTVAL` on one): each
    /// as SHOW CREATE gives it, then set to its next value not yet cached, as mariadb-dump does,
    /// so no number handed out before the backup is handed out again.
    static func sequences(_ names: [String], conn: MySQLConnection) throws -> String {
        var s = ""
        for name in names {
            let q = MySQLConnection.quoteIdentifier(name)
            guard let row = try conn.query("SHOW CREATE SEQUENCE \(q)").first, row.count > 1, let create = row[1] else { continue }
            let next = try conn.scalar("SELECT next_not_cached_value FROM \(q)") ?? "1"
            s += "\n--\n-- Sequence \(commentText(q))\n--\n\nDROP SEQUENCE IF EXISTS \(q);\n\(create);\nSELECT SETVAL(\(q), \(next), 0);\n"
        }
        return s
    }

    /// The bytes a row takes as SQL, `(...)` included: counted only for a row whose upper bound
    /// (every quoted byte escaped) is over the statement limit.
    private static func exactRowLength(_ row: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                                       _ lengths: UnsafeMutablePointer<UInt>, _ kinds: [ValueKind]) -> Int {
        var total = 2 + max(0, kinds.count - 1)
        for i in 0..<kinds.count {
            guard let v = row[i] else { total += 4; continue }
            let len = Int(lengths[i])
            switch kinds[i] {
            case .bare: total += len
            case .hex: total += len == 0 ? 2 : 2 + 2 * len
            case .quoted:
                let p = UnsafeRawPointer(v).assumingMemoryBound(to: UInt8.self)
                var escaped = 0
                for k in 0..<len where sqlEscapeTable[Int(p[k])] != 0 { escaped += 1 }
                total += 2 + len + escaped
            }
        }
        return total
    }

    /// A server's global `sql_select_limit` would cut every table silently, and a global
    /// `max_statement_time` (MariaDB) would kill the long SELECTs of a dump: lift both (a session
    /// `DEFAULT` is the global value, so the limit is named: 2^64 - 1, "no limit").
    static let noLimits = "SET SESSION sql_select_limit=18446744073709551615 /*M!100108 , max_statement_time=0 */"

    /// Text for a `--` comment line: a name holding a line break must not end the comment
    /// (the rest would run as SQL when the dump is loaded).
    static func commentText(_ s: String) -> String {
        s.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
            .replacingOccurrences(of: "\n", with: "\n-- ")
    }

    /// Writes one table: DROP, CREATE, and its rows as extended INSERTs.
    /// `rows` false: a stripped table, its structure only.
    private static func dumpTable(_ table: String, lane: Int, conn: MySQLConnection,
                                  pipeline: DumpPipeline, options: DumpOptions, rows withRows: Bool = true) throws {
        let q = MySQLConnection.quoteIdentifier
        let qt = q(table)
        guard let create = try conn.query("SHOW CREATE TABLE \(qt)").first, create.count > 1, let createSQL = create[1] else {
            throw DBError(.query(sql: "SHOW CREATE TABLE \(qt)", errno: 0, message: "no definition returned"))
        }
        var columns: [String] = []
        /// What the SELECT reads for each column: FLOAT as `c+0e0`, since the server prints a
        /// FLOAT with 6 significant digits (0.1234567 as 0.123457) but the double with all the
        /// digits that bring the same float back.
        var selected: [String] = []
        var nameColumns = false
        for c in try conn.query("SHOW COLUMNS FROM \(qt)") {
            guard let name = c[0] else { continue }
            // Extra holds words such as "VIRTUAL GENERATED", "STORED GENERATED", "PERSISTENT"
            // (older MariaDB) or "INVISIBLE"; MySQL 8's "DEFAULT_GENERATED" (a default
            // expression) is one word and marks an ordinary column.
            let extra = Set(((c.count > 5 ? c[5] : nil) ?? "").uppercased().split(separator: " "))
            if extra.contains("VIRTUAL") || extra.contains("PERSISTENT") || (extra.contains("STORED") && extra.contains("GENERATED")) {
                nameColumns = true
                continue
            }
            if extra.contains("INVISIBLE") { nameColumns = true }
            columns.append(name)
            let type = ((c.count > 1 ? c[1] : nil) ?? "").lowercased()
            selected.append(type.hasPrefix("float") ? "\(q(name))+0e0" : q(name))
        }
        let columnList = columns.map(q).joined(separator: ",")
        let insertPrefix = nameColumns ? "INSERT INTO \(qt) (\(columnList)) VALUES " : "INSERT INTO \(qt) VALUES "
        let prefix = Array(insertPrefix.utf8)

        var out = SQLOutput(first: try pipeline.acquire()) { full in
            try pipeline.push(full, lane: lane)
            return try pipeline.acquire()
        }
        // A chunk is handed on at a statement's end when the next statement might not fit,
        // so chunks end on statement boundaries and the writer can switch tables there.
        let room = pipeline.chunkBytes > options.maxStatementBytes ? options.maxStatementBytes : pipeline.chunkBytes / 4
        try out.text("\n--\n-- Table \(commentText(qt))\n--\n\nDROP TABLE IF EXISTS \(qt);\n\(createSQL);\n")
        try out.statementEnd(room: room)
        var rows = 0, statements = 0
        if !columns.isEmpty && withRows {
            try out.text("/*!40000 ALTER TABLE \(qt) DISABLE KEYS */;\n")
            try out.statementEnd(room: room)
            var kinds: [ValueKind] = []
            var statementStart = -1
            let maxBytes = options.maxStatementBytes
            let packetLimit = options.packetLimit
            rows = try conn.stream("SELECT /*!40001 SQL_NO_CACHE */ \(selected.joined(separator: ",")) FROM \(qt)", fields: { fields, n in
                kinds = (0..<n).map { i in
                    let f = fields[i]
                    switch f.type {
                    case MYSQL_TYPE_TINY, MYSQL_TYPE_SHORT, MYSQL_TYPE_LONG, MYSQL_TYPE_INT24, MYSQL_TYPE_LONGLONG,
                         MYSQL_TYPE_DECIMAL, MYSQL_TYPE_NEWDECIMAL, MYSQL_TYPE_FLOAT, MYSQL_TYPE_DOUBLE, MYSQL_TYPE_YEAR:
                        return .bare
                    case MYSQL_TYPE_BIT, MYSQL_TYPE_GEOMETRY:
                        return .hex
                    case MYSQL_TYPE_STRING, MYSQL_TYPE_VAR_STRING, MYSQL_TYPE_VARCHAR, MYSQL_TYPE_TINY_BLOB,
                         MYSQL_TYPE_MEDIUM_BLOB, MYSQL_TYPE_LONG_BLOB, MYSQL_TYPE_BLOB:
                        return f.charsetnr == 63 ? .hex : .quoted
                    default:
                        return .quoted
                    }
                }
            }, row: { row, lengths in
                let n = kinds.count
                // Upper bound of this row's text, to keep the statement under the limit.
                var bound = 3
                for i in 0..<n {
                    let len = Int(lengths[i])
                    bound += (kinds[i] == .bare ? len : 2 * len + 2) + 5
                }
                if prefix.count + bound + 2 > packetLimit, prefix.count + exactRowLength(row, lengths, kinds) + 2 > packetLimit {
                    // Alone in its INSERT it still would not fit in one packet of this server:
                    // the file would not load (the client and server refuse it), so no backup.
                    throw DBError(.query(sql: "SELECT ... FROM \(qt)", errno: 0,
                                         message: "a row of \(qt) takes up to \(bound) bytes as SQL, more than the server's max_allowed_packet allows in one statement (\(packetLimit + 1024)); raise max_allowed_packet (SET GLOBAL max_allowed_packet=...) and back up again"))
                }
                if statementStart >= 0 && out.position - statementStart + bound + 2 > maxBytes {
                    try out.byte(0x3B); try out.byte(0x0A)
                    try out.statementEnd(room: room)
                    statementStart = -1
                }
                if statementStart < 0 {
                    statementStart = out.position
                    try prefix.withUnsafeBufferPointer { try out.raw($0.baseAddress!, $0.count) }
                    statements += 1
                } else {
                    try out.byte(0x2C)
                }
                try out.byte(0x28)
                for i in 0..<n {
                    if i > 0 { try out.byte(0x2C) }
                    guard let v = row[i] else {
                        try out.byte(0x4E); try out.byte(0x55); try out.byte(0x4C); try out.byte(0x4C)
                        continue
                    }
                    let p = UnsafeRawPointer(v).assumingMemoryBound(to: UInt8.self)
                    let len = Int(lengths[i])
                    switch kinds[i] {
                    case .bare: try out.raw(p, len)
                    case .quoted: try out.quoted(p, len)
                    case .hex: try out.hex(p, len)
                    }
                }
                try out.byte(0x29)
            })
            if statementStart >= 0 { try out.byte(0x3B); try out.byte(0x0A); try out.statementEnd(room: room) }
            try out.text("/*!40000 ALTER TABLE \(qt) ENABLE KEYS */;\n")
        }
        let last = out.finish()
        if last.count > 0 { try pipeline.push(last, lane: lane) } else { pipeline.release(last) }
        pipeline.finish(lane: lane, rows: rows, statements: statements)
    }

    private func header(serverVersion: String, tables: Int, snapshot: DumpStats.Snapshot, selected: TableSelection.Resolved) -> String {
        SQLStatementSplitter.fastbackupHeader + """
        -- Server version: \(SQLDumper.commentText(serverVersion))
        -- Database: \(SQLDumper.commentText(MySQLConnection.quoteIdentifier(config.database))), \(tables) table(s), snapshot: \(snapshot.rawValue)\(DumpFilterRecord(options.selection, selected).map { "\n" + $0.headerLines } ?? "")

        /*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
        /*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;
        /*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;
        /*!40101 SET NAMES utf8mb4 */;
        /*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;
        /*!40103 SET TIME_ZONE='+00:00' */;
        /*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
        /*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;
        /*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='\(SchemaObjects.dumpSQLMode)' */;
        /*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;

        """
    }

    private let footer = """

        /*!40101 SET SQL_MODE=@OLD_SQL_MODE */;
        /*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;
        /*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;
        /*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
        /*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;
        /*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;
        /*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;
        /*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;

        -- Dump completed

        """
}
