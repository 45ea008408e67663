import Foundation
import XCTest
@testable import DBStream
import TestSupport

/// SQLRestorer spreading one table's plain INSERTs over several connections.
final class SQLRestorerParallelTests: XCTestCase {
    private func restore(_ server: TestServer, file: String, into db: String, options: RestoreOptions) throws -> RestoreStats {
        let fd = open(file, O_RDONLY)
        guard fd >= 0 else { throw DBError(.io(errno: errno, path: file, operation: "Cannot open")) }
        defer { close(fd) }
        return try SQLRestorer(config: server.config(db), options: options).restore(fromFD: fd, path: file)
    }

    /// Writes `sql` to a temporary file and loads it with `mariadb DB < file`, the meaning the
    /// restorer must reproduce; `body` gets the file, `query`'s rows in that copy and its database.
    private func withClientReference(_ server: TestServer, sql: String, label: String, query: String,
                                     _ body: (_ path: String, _ want: [[String?]], _ clientDB: String) throws -> Void) throws {
        let path = NSTemporaryDirectory() + "fbt-\(label)-\(UInt32.random(in: 0...UInt32.max)).sql"
        try sql.write(toFile: path, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let viaClient = try server.createDatabase(label)
        defer { viaClient.drop() }
        try server.client(viaClient.name, input: path)
        try body(path, try server.admin(viaClient.name).query(query), viaClient.name)
    }

    /// Restores `path` into a fresh database on `threads` data connections; `body` gets the stats and the database.
    private func withRestore(_ server: TestServer, path: String, label: String, threads: Int,
                             _ body: (_ stats: RestoreStats, _ db: String) throws -> Void) throws {
        let dst = try server.createDatabase(label)
        defer { dst.drop() }
        try body(try restore(server, file: path, into: dst.name, options: RestoreOptions(threads: threads)), dst.name)
    }

    /// A database `a_small` (100 rows) + `b_big` (30000 rows, a unique and a plain secondary
    /// key), made from MariaDB's SEQUENCE engine, dumped by SQLDumper with one reader and
    /// 16 KiB statements, so b_big's data is many INSERTs in a row.
    private func makeBigTableDump(_ server: TestServer) throws -> (db: (name: String, drop: () -> Void), path: String) {
        let db = try server.createDatabase("rpar")
        let c = try server.admin(db.name)
        try c.execute("CREATE TABLE a_small (id INT PRIMARY KEY, s VARCHAR(20))")
        try c.execute("INSERT INTO a_small SELECT seq, CONCAT('s', seq) FROM seq_1_to_100")
        try c.execute("CREATE TABLE b_big (id INT AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL, s VARCHAR(100), d DECIMAL(12,3), UNIQUE KEY uk (k), KEY ks (s))")
        try c.execute("INSERT INTO b_big SELECT seq, seq * 7919 % 1000003, IF(seq % 9 = 0, NULL, CONCAT('row ''', seq, ''' ; (x) \\\\ ', seq % 13)), seq / 3 FROM seq_1_to_30000")
        let (path, _) = try server.dump(db.name, options: DumpOptions(threads: 1, maxStatementBytes: 16 << 10))
        return (db, path)
    }

    /// One big table restores identically (CHECKSUM TABLE) whether its INSERTs are spread
    /// over 1, 2 or 3 connections or kept on one. Whether a second connection gets any of
    /// them depends on how fast the server drains the first (a table keeps to its home
    /// connection while that has room), so the spreading itself is asserted by
    /// ``testBusyHomeConnectionSpillsToAnother``, where the home connection is held busy.
    func testBigTableSpreadAcrossConnections() throws {
        let server = try TestServer.fromEnvironment()
        let (src, path) = try makeBigTableDump(server)
        defer { src.drop(); try? FileManager.default.removeItem(atPath: path) }
        let want = try server.checksums(src.name)
        for (threads, spread, load) in [(1, true, false), (2, true, false), (3, true, false), (3, false, false), (2, true, true)] {
            let label = "threads \(threads) spread \(spread) load \(load)"
            let dst = try server.createDatabase("rpar")
            defer { dst.drop() }
            let stats = try restore(server, file: path, into: dst.name,
                                    options: RestoreOptions(threads: threads, spreadTables: spread, loadData: load))
            XCTAssertEqual(try server.checksums(dst.name), want, label)
            XCTAssertGreaterThan(stats.dataStatements, 10, label)
            XCTAssertEqual(stats.statementsPerConnection.count, threads, label)
            XCTAssertEqual(stats.tablesWithDeferredKeys, 1, "\(label): b_big's keys are built after its rows")
            XCTAssertEqual(stats.statementsPerConnection.reduce(0, +), stats.dataStatements + 2 + 1,
                           "\(label): every INSERT, each table's ENABLE KEYS and b_big's key build ran once on a data connection: \(stats.statementsPerConnection)")
            if load {
                // LOAD DATA keeps each table on one connection (InnoDB's AUTO-INC lock).
                XCTAssertEqual(stats.loadedStatements, stats.dataStatements, label)
                XCTAssertEqual(stats.spreadStatements, 0, label)
            } else if threads > 1 && spread {
                XCTAssertEqual(stats.loadedStatements, 0, label)
                XCTAssertEqual(stats.spreadStatements, stats.dataStatements, label)
            } else {
                XCTAssertEqual(stats.spreadStatements, 0, label)
            }
            let c = try server.admin(dst.name)
            XCTAssertEqual(try c.scalar("SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'b_big'"), "30001", label)
            XCTAssertEqual(try c.query("SHOW CREATE TABLE b_big"), try server.admin(src.name).query("SHOW CREATE TABLE b_big"), label)
        }
    }

    /// While a table's home connection is busy (a 1 s `SLEEP` holds it) and its queue is
    /// full, the next statement goes to another connection; once all are idle, the home
    /// connection is preferred again.
    func testBusyHomeConnectionSpillsToAnother() throws {
        let server = try TestServer.fromEnvironment()
        let db = try server.createDatabase("rpool")
        defer { db.drop() }
        let pool = RestoreConnections(connections: [try server.admin(db.name), try server.admin(db.name)], depth: 1)
        try pool.start()
        defer { pool.stop() }
        func statement(_ sql: String, line: Int) -> SQLStatement { SQLStatement(text: Array(sql.utf8), line: line) }
        // The first runs on 0 (or waits in its queue); with depth 1, one of the next two
        // finds queue 0 full while the sleep runs and must go to connection 1.
        var used: [Int] = []
        used.append(pool.enqueueLeastLoaded(statement("SELECT SLEEP(1)", line: 1), table: "t", preferred: 0))
        used.append(pool.enqueueLeastLoaded(statement("SELECT 2", line: 2), table: "t", preferred: 0))
        used.append(pool.enqueueLeastLoaded(statement("SELECT 3", line: 3), table: "t", preferred: 0))
        XCTAssertEqual(used.first, 0)
        XCTAssertTrue(used.contains(1), "a full home queue spills to the other connection: \(used)")
        pool.waitIdle()
        XCTAssertNil(pool.failure)
        XCTAssertEqual(pool.statementsRun.reduce(0, +), 3)
        XCTAssertEqual(pool.enqueueLeastLoaded(statement("SELECT 4", line: 4), table: "t", preferred: 0), 0,
                       "an idle home connection is preferred")
        pool.waitIdle()
    }

    /// Queued statements are bounded in bytes for all connections together, not only in number
    /// per connection: a second 7 MiB statement waits until the first has run, though its
    /// connection is idle.
    func testQueuedBytesAreBoundedAcrossConnections() throws {
        let server = try TestServer.fromEnvironment()
        let db = try server.createDatabase("rbytes")
        defer { db.drop() }
        let pool = RestoreConnections(connections: [try server.admin(db.name), try server.admin(db.name)], depth: 4)
        try pool.start()
        defer { pool.stop() }
        let padding = String(repeating: " ", count: 7 << 20)
        XCTAssertGreaterThan(2 * (7 << 20), RestoreConnections.queuedBytesLimit)
        let start = DispatchTime.now()
        pool.enqueue(SQLStatement(text: Array("SELECT SLEEP(1)\(padding)".utf8), line: 1), table: "a", on: 0)
        pool.enqueue(SQLStatement(text: Array("SELECT 2\(padding)".utf8), line: 2), table: "b", on: 1)
        let waited = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        XCTAssertGreaterThan(waited, 0.9, "the second statement was queued while the first still ran")
        pool.waitIdle()
        XCTAssertNil(pool.failure)
        XCTAssertEqual(pool.statementsRun, [1, 1])
    }

    /// Statements whose order matters (INSERT IGNORE and ON DUPLICATE KEY UPDATE on a unique
    /// key, REPLACE, a column list leaving out the AUTO_INCREMENT column) between spread plain
    /// INSERTs of the same table load exactly as `mariadb --no-defaults DB < file` loads them.
    /// The file is written here from a seeded generator.
    func testOrderDependentStatementsMatchClient() throws {
        let server = try TestServer.fromEnvironment()
        var rng = SeededRandom(seed: 0x5EED_0DE2)
        var sql = "CREATE TABLE u (id INT AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL, v VARCHAR(40), UNIQUE KEY uk (k));\n"
        sql += "/*!40000 ALTER TABLE `u` DISABLE KEYS */;\n"
        var nextID = 1
        var plain = 0
        var usedKeys: [UInt64] = []
        var used = Set<UInt64>()
        // Plain INSERTs: keys 100..<1_000_100, distinct, so they never fail.
        func distinctTuples(_ n: Int, tag: String) -> String {
            (0..<n).map { _ in
                var k = 100 + rng.next() % 1_000_000
                while used.contains(k) { k = 100 + rng.next() % 1_000_000 }
                used.insert(k)
                usedKeys.append(k)
                defer { nextID += 1 }
                return "(\(nextID),\(k),'\(tag)')"
            }.joined(separator: ",")
        }
        // INSERT IGNORE: keys 0..<60 clash among themselves (the first wins), and keys of
        // earlier plain INSERTs are ignored only if those INSERTs ran first.
        func clashingTuples(_ n: Int, tag: String) -> String {
            (0..<n).map { j in
                let k = j % 2 == 0 ? rng.next() % 60 : usedKeys[Int(rng.next() % UInt64(usedKeys.count))]
                defer { nextID += 1 }
                return "(\(nextID),\(k),'\(tag) \(rng.next() % 1000)')"
            }.joined(separator: ",")
        }
        for round in 0..<4 {
            for _ in 0..<6 { sql += "INSERT INTO u VALUES \(distinctTuples(50, tag: "plain \(round)"));\n"; plain += 1 }
            for _ in 0..<4 { sql += "INSERT IGNORE INTO u VALUES \(clashingTuples(40, tag: "ignore \(round)"));\n" }
            // The last ON DUPLICATE KEY UPDATE of a key wins.
            for _ in 0..<4 {
                let k = 2_000_000 + Int(rng.next() % 5)
                sql += "INSERT INTO u VALUES (\(nextID),\(k),'odku'),(\(nextID + 1),\(k + 10),'odku') ON DUPLICATE KEY UPDATE v = CONCAT(VALUES(v), ' \(rng.next() % 1000)');\n"
                nextID += 2
            }
            sql += "REPLACE INTO u VALUES (\(nextID),\(2_000_000 + Int(rng.next() % 5)),'replace \(round)');\n"
            nextID += 1
            // Generated ids follow the order of the statements.
            sql += "INSERT INTO u (k, v) VALUES (\(3_000_000 + round * 2),'auto'),(\(3_000_001 + round * 2),'auto');\n"
            nextID += 2
        }
        sql += "/*!40000 ALTER TABLE `u` ENABLE KEYS */;\n"
        let query = "SELECT id, k, v FROM u ORDER BY id"
        try withClientReference(server, sql: sql, label: "rord", query: query) { path, want, clientDB in
            XCTAssertGreaterThan(want.count, plain * 50)
            for threads in [2, 3] {
                try withRestore(server, path: path, label: "rord", threads: threads) { stats, db in
                    XCTAssertEqual(stats.spreadStatements, plain, "threads \(threads)")
                    XCTAssertEqual(try server.admin(db).query(query), want, "threads \(threads)")
                    XCTAssertEqual(try server.checksums(db), try server.checksums(clientDB), "threads \(threads)")
                }
            }
        }
    }

    /// Broken INSERTs in the middle of a spread table: the restore reports the first broken
    /// statement's line (not a later one that another connection reached first), the
    /// server error, and only the tables finished before it.
    func testBrokenInsertInSpreadTableReportsFirstLine() throws {
        let server = try TestServer.fromEnvironment()
        let (src, path) = try makeBigTableDump(server)
        defer { src.drop(); try? FileManager.default.removeItem(atPath: path) }
        let lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
        let inserts = lines.indices.filter { lines[$0].hasPrefix("INSERT INTO `b_big`") }
        XCTAssertGreaterThan(inserts.count, 10)
        // Table: which INSERTs of b_big to break (by position among them).
        for broken in [[inserts.count / 2], [inserts.count / 2, inserts.count / 2 + 1, inserts.count - 1], [1]] {
            var copy = lines
            for k in broken {
                copy[inserts[k]] = "INSERT INTO `b_big` VALUES (1,2,'x',,1.000);"
            }
            let file = path + ".broken"
            try copy.joined(separator: "\n").write(toFile: file, atomically: false, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let dst = try server.createDatabase("rpbad")
            defer { dst.drop() }
            XCTAssertThrowsError(try restore(server, file: file, into: dst.name, options: RestoreOptions(threads: 3))) { e in
                guard let d = e as? DBError, case .restore(_, let line, _, let errno, _, let done) = d.kind else {
                    return XCTFail("\(e)")
                }
                XCTAssertEqual(line, inserts[broken[0]] + 1, "\(broken)")
                XCTAssertEqual(errno, 1064, "\(broken)")
                XCTAssertEqual(done, ["a_small"], "\(broken)")
            }
        }
    }

    /// Which statements may run in any order (table-driven).
    func testAnyOrderInsertDetection() {
        let cases: [(String, Bool)] = [
            ("INSERT INTO `t` VALUES (1,'a'),(2,'b')", true),
            ("insert into t values (1, 'it''s (not) a tuple'),  (2, \"q\\\"\")", true),
            ("INSERT INTO db.t VALUE (1)", true),
            ("/*!40000 INSERT */ INTO t VALUES (1)", true),
            ("INSERT LOW_PRIORITY INTO t VALUES (1)", true),
            ("INSERT INTO t VALUES (1,'x\\')'),(2,')')", true),
            ("INSERT IGNORE INTO t VALUES (1)", false),
            ("INSERT DELAYED INTO t VALUES (1)", false),
            ("REPLACE INTO t VALUES (1)", false),
            ("INSERT INTO t (a, b) VALUES (1, 2)", false),
            ("INSERT INTO t VALUES (1,2) ON DUPLICATE KEY UPDATE b = VALUES(b)", false),
            ("INSERT INTO t VALUES (1,2) on duplicate key update b = 3", false),
            ("INSERT INTO t VALUES (1,'ON DUPLICATE KEY UPDATE') RETURNING id", false),
            ("INSERT INTO t SELECT * FROM u", false),
            ("INSERT INTO t SET a = 1", false),
            ("INSERT INTO t VALUES (1", false),
            ("INSERT INTO t VALUES ", false),
            ("INSERT INTO t VALUES (1, (SELECT MAX(id) FROM u))", false),
            ("INSERT INTO t VALUES (1, 'select'), (2, 'Select')", true),
            ("INSERT INTO t VALUES (1, 'a'), (2, `Select`)", false),            // a column, not a literal
            ("INSERT INTO selection VALUES (1, 'a_select', 'selected')", true),
            ("INSERT INTO t VALUES (1,'a'),( NULL ,'b')", false),
            ("INSERT INTO t VALUES (0,'a')", false),
            ("INSERT INTO t VALUES (null)", false),
            ("INSERT INTO t VALUES (0.5,'a'),(01,'b'),('NULL','d'),(10,NULL)", true),
            ("INSERT INTO t VALUES (2, x'41', b'01', _binary 'a', _utf8mb4\"b\", TRUE, -1.5e3, 0x1F, .5)", true),
            ("INSERT INTO t VALUES (1,'a'),(NULLIF(1,1),'c')", false),            // a function
            ("INSERT INTO t VALUES (@n:=@n+1,'a')", false),                        // a user variable
            ("INSERT INTO t VALUES (1,LAST_INSERT_ID())", false),
            ("INSERT INTO t VALUES ('a',DEFAULT)", false),                         // a generated number
            ("INSERT INTO t VALUES (1,2*3)", false),
        ]
        for (sql, want) in cases {
            XCTAssertEqual(StatementKind.isAnyOrderInsert(Array(sql.utf8)), want, sql)
        }
        let reads: [(String, Bool)] = [
            ("INSERT INTO t SELECT * FROM u", true),
            ("insert into t values (1, (select 2))", true),
            ("CREATE TABLE t AS\nSELECT id FROM u", true),
            ("INSERT INTO t VALUES (1,'SELECT'),(2,\"x\\\" select\")", false),
            ("INSERT INTO `select` (`selected`) VALUES (1)", false),
            ("INSERT INTO selects VALUES (1), (2)", false),
            ("CREATE TABLE t (id INT, preselect INT, select_ INT)", false),
        ]
        for (sql, want) in reads {
            XCTAssertEqual(StatementKind.readsTables(Array(sql.utf8)), want, sql)
        }
    }

    /// Rows whose AUTO_INCREMENT column is given as NULL or 0 get their numbers in file order,
    /// as with `mariadb DB < file` (a seed script's `INSERT INTO t VALUES (NULL, ...)`). Written
    /// here: 20 INSERTs of 500 such rows, the first one slow, so spreading would reorder them.
    func testGeneratedKeysFollowFileOrder() throws {
        let server = try TestServer.fromEnvironment()
        var sql = "CREATE TABLE g (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40));\n"
        for st in 0..<20 {
            let first = st == 0 ? "(NULL,IF(SLEEP(1),'slept','woke'))," : ""
            let zero = st % 2 == 0 ? "NULL" : "0"
            sql += "INSERT INTO g VALUES " + first + (0..<500).map { "(\(zero),'statement \(st) row \($0)')" }.joined(separator: ",") + ";\n"
        }
        let query = "SELECT id, v FROM g ORDER BY id"
        try withClientReference(server, sql: sql, label: "rgk", query: query) { path, want, _ in
            XCTAssertEqual(want.count, 10_001)
            try withRestore(server, path: path, label: "rgk", threads: 2) { stats, db in
                XCTAssertEqual(stats.spreadStatements, 0)
                XCTAssertEqual(try server.admin(db).query(query), want)
            }
        }
    }

    /// Statements that read other tables (`INSERT ... SELECT`, a subquery inside VALUES or SET)
    /// see every row the file loaded before them, as with `mariadb DB < file`, although those
    /// rows were spread over other connections. Written here from a generator: 30 INSERTs of
    /// 2,000 rows into `a` (the first one slow), then statements counting them into `s`.
    func testStatementsReadingOtherTablesWaitForTheirData() throws {
        let server = try TestServer.fromEnvironment()
        var sql = "CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(40), KEY kv (v));\n"
        for st in 0..<30 {
            // The first statement holds its connection for a second (SLEEP returns 0), so the
            // statements queued behind it are still waiting when the readers come.
            let first = st == 0 ? "(0,IF(SLEEP(1),'slept','woke'))," : ""
            sql += "INSERT INTO a VALUES " + first
                + (0..<2000).map { "(\(st * 2000 + $0 + 1),'row \($0 * 7919 % 2000) select')" }.joined(separator: ",") + ";\n"
        }
        sql += "CREATE TABLE s (tag VARCHAR(20), n INT);\n"
        sql += "SET @rows = (SELECT COUNT(*) FROM a);\n"
        sql += "INSERT INTO s VALUES ('user variable', @rows);\n"
        sql += "INSERT INTO s SELECT 'insert-select', COUNT(*) FROM a;\n"
        sql += "INSERT INTO s VALUES ('subquery', (SELECT COUNT(*) FROM a));\n"
        sql += "INSERT INTO s (tag, n) VALUES ('column list', (SELECT MAX(id) FROM a));\n"
        sql += "REPLACE INTO s SELECT 'replace-select', SUM(id) FROM a;\n"
        let query = "SELECT tag, n FROM s ORDER BY tag"
        try withClientReference(server, sql: sql, label: "rrd", query: query) { path, want, _ in
            XCTAssertEqual(want.count, 5)
            XCTAssertTrue(want.contains { $0 == ["insert-select", "60001"] }, "\(want)")
            for threads in [2, 3] {
                try withRestore(server, path: path, label: "rrd", threads: threads) { _, db in
                    XCTAssertEqual(try server.admin(db).query(query), want, "threads \(threads)")
                }
            }
        }
    }
}
