import Foundation
import XCTest
@testable import DBStream
import TestSupport

final class SQLDumperTests: XCTestCase {
    /// Every column type with its edge values, generated and invisible columns,
    /// views on views, a trigger, routines and an event; the dump must load with
    /// the `mariadb` client into identical tables (CHECKSUM TABLE).
    func testRoundTripEveryTypeAndEdgeValue() throws {
        let server = try TestServer.fromEnvironment()
        let db = try server.createDatabase("types")
        defer { db.drop() }
        let c = try server.admin(db.name)
        try c.execute("SET SESSION sql_mode='NO_AUTO_VALUE_ON_ZERO', time_zone='+02:00'")
        try c.execute("""
            CREATE TABLE every_type (
              id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
              ti TINYINT, si SMALLINT, mi MEDIUMINT, i INT, bi BIGINT, ubi BIGINT UNSIGNED,
              dec1 DECIMAL(20,6), dec2 DECIMAL(65,30), f FLOAT, d DOUBLE, b BIT(13), b1 BIT(1),
              dt DATETIME(6), da DATE, tm TIME(3), ts TIMESTAMP NULL DEFAULT NULL, yr YEAR,
              ch CHAR(10), vc VARCHAR(300), tx TEXT, lt LONGTEXT,
              bin BINARY(4), vb VARBINARY(64), bl BLOB, lb LONGBLOB,
              en ENUM('a','b','c d'), st SET('x','y','z'),
              js JSON, g GEOMETRY NULL, pt POINT NULL,
              latin VARCHAR(20) CHARACTER SET latin1,
              gv INT AS (i * 2) VIRTUAL, gs VARCHAR(320) AS (CONCAT(vc, '!')) STORED,
              hidden INT INVISIBLE DEFAULT 7
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
            """)
        try c.execute("""
            INSERT INTO every_type (id, ti, si, mi, i, bi, ubi, dec1, dec2, f, d, b, b1, dt, da, tm, ts, yr,
              ch, vc, tx, lt, bin, vb, bl, lb, en, st, js, g, pt, latin, hidden) VALUES
            (0, -128, -32768, -8388608, -2147483648, -9223372036854775808, 18446744073709551615,
             -12345678901234.123456, -0.000000000000000000000000000001, -3.4e38, 1.7976931348623157e308,
             b'1010101010101', b'1', '0000-00-00 00:00:00', '0000-00-00', '-838:59:59.999', '1970-01-01 02:00:01', 1901,
             '', '', '', '', 0x00000000, '', '', '', 'c d', 'x,z', '{}', NULL, NULL, '', -1),
            (NULL, 127, 32767, 8388607, 2147483647, 9223372036854775807, 0,
             99999999999999.999999, 12345678901234567890123456789012345.123456789012345678901234567890, 1.5, -0.0,
             b'0', b'0', '9999-12-31 23:59:59.999999', '2024-02-29', '838:59:59', '2038-01-19 03:14:07', 2155,
             'émoji😀', 'line1\\nline2\\r\\n\\ttab \\\\ back \\' quote " dq \\0 nul \\Z ctrlz', 'multi\nline\ntext', REPEAT('x', 70000),
             0x00FF0A27, 0x000102030405, 0x00, UNHEX(REPEAT('00FF5C270A0D1A22', 10000)), NULL, '', 
             '{"a": [1, 2.5, "x\\\\ny"], "emoji": "😀", "nested": {"k": null}}',
             ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0))'), POINT(1.5, -2.25), 'caf\u{e9}', 0),
            (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
             NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
            (NULL, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, b'0', b'0', '2000-01-01', '2000-01-01', '00:00:00', '2000-06-15 12:00:00', 0,
             'NULL', 'NULL', '\\\\N', '''', '', '', 'NULL', '0x00', '', '', '[]', ST_GeomFromText('POINT(0 0)'), NULL, '', NULL)
            """)
        // Seeded pseudo-random rows: strings over every byte value that matters to escaping.
        var rng = SeededRandom(seed: 0x5EED)
        let alphabet: [String] = ["a", "Z", "''", "\"", "\\\\", "\\n", "\\r", "\\0", "\\Z", "\\t", ";", "`", "😀", "é", ",", "(", ")", " "]
        var values: [String] = []
        for _ in 0..<300 {
            let n = Int(rng.next() % 40)
            let s = (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }.joined()
            let blob = (0..<Int(rng.next() % 32)).map { _ in String(format: "%02X", Int(rng.next() % 256)) }.joined()
            values.append("('\(s)', 0x\(blob.isEmpty ? "00" : blob), \(Int64(bitPattern: rng.next()) >> Int64(rng.next() % 63)))")
        }
        try c.execute("CREATE TABLE random_rows (id INT AUTO_INCREMENT PRIMARY KEY, s VARCHAR(200), b VARBINARY(64), n BIGINT)")
        try c.execute("INSERT INTO random_rows (s, b, n) VALUES " + values.joined(separator: ","))
        try c.execute("CREATE TABLE empty_table (a INT)")
        try c.execute("CREATE TABLE `odd ``name`` tbl` (`col; DROP` INT, `sp ace` VARCHAR(5))")
        try c.execute("INSERT INTO `odd ``name`` tbl` VALUES (1, 'a;b')")
        try c.execute("CREATE TABLE audit (n INT)")
        try c.execute("CREATE VIEW v_base AS SELECT id, vc FROM every_type WHERE id > 0")
        try c.execute("CREATE VIEW a_on_view AS SELECT COUNT(*) AS cnt FROM v_base")
        try c.execute("""
            CREATE TRIGGER trg_ins AFTER INSERT ON every_type FOR EACH ROW
            BEGIN
              INSERT INTO audit VALUES (NEW.id);
              INSERT INTO audit VALUES (NEW.id + 1);
            END
            """)
        try c.execute("CREATE FUNCTION f_double(x INT) RETURNS INT DETERMINISTIC BEGIN DECLARE y INT; SET y = x * 2; RETURN y; END")
        try c.execute("CREATE PROCEDURE p_count(OUT n INT) BEGIN SELECT COUNT(*) INTO n FROM every_type; END")
        try c.execute("CREATE VIEW v_func AS SELECT f_double(id) AS d FROM every_type")
        try c.execute("CREATE EVENT ev_nightly ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE DO DELETE FROM audit")

        // 16 KiB chunks make the 70 KB text and 80 KB blob values cross chunk boundaries.
        for (threads, chunk) in [(1, 16 << 10), (2, 256 << 10)] {
            let (stats, sql) = try server.assertRoundTrip(db.name, options: DumpOptions(threads: threads, chunkBytes: chunk))
            XCTAssertEqual(stats.tables, 5)
            XCTAssertEqual(stats.rows, 4 + 300 + 1)
            XCTAssertEqual(stats.views, 3)
            XCTAssertEqual(stats.triggers, 1)
            XCTAssertEqual(stats.routines, 2)
            XCTAssertEqual(stats.events, 1)
            XCTAssertFalse(sql.contains("DEFINER="), "DEFINER clauses are removed")
            XCTAssertTrue(sql.contains("(`id`,`ti`,"), "generated columns left out, so the INSERT names its columns")
            XCTAssertFalse(sql.contains("`gv`,"))
            // Every INSERT is one line ending in ';'.
            for line in sql.split(separator: "\n") where line.hasPrefix("INSERT INTO") {
                XCTAssertTrue(line.hasSuffix(");"), String(line.prefix(80)))
            }
        }
        // Values read back through the restored copy match the source exactly (TIMESTAMP in UTC).
        let (path, _) = try server.dump(db.name)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let copy = try server.createDatabase("copy")
        defer { copy.drop() }
        try server.client(copy.name, input: path)
        let probe = "SELECT id, HEX(ubi), dec2, HEX(b), dt, ts, HEX(bin), HEX(lb) = HEX(UNHEX(REPEAT('00FF5C270A0D1A22', 10000))), " +
            "ch, vc, js, ST_AsText(g), hidden, latin, bl IS NULL, HEX(bl) FROM every_type ORDER BY id"
        let src = try server.admin(db.name), dst = try server.admin(copy.name)
        try src.execute("SET time_zone='+00:00'")
        try dst.execute("SET time_zone='+00:00'")
        XCTAssertEqual(try dst.query(probe), try src.query(probe))
        XCTAssertEqual(try dst.scalar("SELECT ts FROM every_type WHERE id = 0"), "1970-01-01 00:00:01")
        XCTAssertEqual(try dst.scalar("SELECT CONCAT(HEX(bl), '|', bl IS NULL) FROM every_type WHERE id = 0"), "|0")
        XCTAssertEqual(try dst.scalar("SELECT bl IS NULL FROM every_type WHERE id = 2"), "1")
        XCTAssertEqual(try dst.scalar("SELECT HEX(vb) FROM every_type WHERE id = 1"), "000102030405")
    }

    /// Sakila (MySQL's sample database: views, triggers, routines, FULLTEXT, GEOMETRY),
    /// loaded with `sed 's/\bsakila\b/<db>/g' sakila-schema.sql sakila-data.sql | mariadb`.
    func testRoundTripSakila() throws {
        let server = try TestServer.fromEnvironment()
        let corpus = TestServer.packageRoot + "/../shared/corpus/sakila"
        guard FileManager.default.fileExists(atPath: corpus + "/sakila-data.sql") else {
            throw XCTSkip("sakila corpus absent at \(corpus)")
        }
        let name = "fbt_sakila_\(UInt32.random(in: 0...UInt32.max))"
        defer { try? server.admin().execute("DROP DATABASE IF EXISTS \(name)") }
        let script = NSTemporaryDirectory() + "\(name).sql"
        defer { try? FileManager.default.removeItem(atPath: script) }
        var text = try String(contentsOfFile: corpus + "/sakila-schema.sql", encoding: .utf8)
            + String(contentsOfFile: corpus + "/sakila-data.sql", encoding: .utf8)
        text = text.replacingOccurrences(of: #"\bsakila\b"#, with: name, options: .regularExpression)
        try text.write(toFile: script, atomically: false, encoding: .utf8)
        try server.client("", input: script)
        let (stats, _) = try server.assertRoundTrip(name)
        XCTAssertEqual(stats.tables, 16)
        XCTAssertEqual(stats.views, 7)
        XCTAssertEqual(stats.triggers, 6)
        XCTAssertEqual(stats.routines, 6)
        XCTAssertGreaterThan(stats.rows, 46_000)
    }

    /// Tables with and without Magento's prefix are all dumped.
    func testTablePrefixDatabase() throws {
        let server = try TestServer.fromEnvironment()
        let db = try server.createDatabase("prefix")
        defer { db.drop() }
        let c = try server.admin(db.name)
        for t in ["mg_core_config_data", "mg_catalog_product_entity", "other_table"] {
            try c.execute("CREATE TABLE \(t) (id INT PRIMARY KEY, v VARCHAR(40))")
            try c.execute("INSERT INTO \(t) SELECT seq, CONCAT('\(t)', seq) FROM seq_1_to_50")
        }
        try c.execute("ALTER TABLE mg_catalog_product_entity ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES mg_core_config_data (id)")
        var config = server.config(db.name, prefix: "mg_")
        config.tablePrefix = "mg_"
        let (stats, _) = try server.assertRoundTrip(db.name)
        XCTAssertEqual(stats.tables, 3)
        XCTAssertEqual(stats.rows, 150)
    }

    /// INSERTs stay under maxStatementBytes (rows are split across statements).
    func testStatementSizeBound() throws {
        let server = try TestServer.fromEnvironment()
        let db = try server.createDatabase("stmt")
        defer { db.drop() }
        let c = try server.admin(db.name)
        try c.execute("CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(200), b VARBINARY(100))")
        try c.execute("INSERT INTO t SELECT seq, REPEAT(CHAR(39), seq % 150), UNHEX(REPEAT('ab', seq % 90)) FROM seq_1_to_20000")
        let limit = 8192
        let (stats, sql) = try server.assertRoundTrip(db.name, options: DumpOptions(maxStatementBytes: limit, chunkBytes: 16 << 10))
        let inserts = sql.split(separator: "\n").filter { $0.hasPrefix("INSERT INTO") }
        XCTAssertEqual(inserts.count, stats.insertStatements)
        XCTAssertGreaterThan(inserts.count, 100)
        for l in inserts { XCTAssertLessThanOrEqual(l.utf8.count + 1, limit) }
        // Statements are filled well, not cut at a pessimistic bound.
        XCTAssertGreaterThan(inserts.map { $0.utf8.count }.reduce(0, +) / inserts.count, limit / 2)
    }

    /// Many small tables beside a large one, three connections, the smallest buffers and
    /// queues, statements longer than a buffer (the writer must stay on one table while
    /// the others fill buffers): the bounded pool must not run dry.
    func testManyTablesTinyBuffers() throws {
        let server = try TestServer.fromEnvironment()
        let db = try server.createDatabase("many")
        defer { db.drop() }
        let c = try server.admin(db.name)
        try c.execute("CREATE TABLE big (id INT PRIMARY KEY, s VARCHAR(100))")
        try c.execute("INSERT INTO big SELECT seq, REPEAT(CHAR(65 + seq % 26), 1 + seq % 100) FROM seq_1_to_30000")
        for i in 0..<40 {
            try c.execute("CREATE TABLE small_\(i) (id INT PRIMARY KEY, s VARCHAR(100))")
            try c.execute("INSERT INTO small_\(i) SELECT seq, REPEAT('s', \(i) + seq % 50) FROM seq_1_to_\(50 + i * 10)")
        }
        let (stats, _) = try server.assertRoundTrip(db.name, options: DumpOptions(
            threads: 3, maxStatementBytes: 64 << 10, chunkBytes: 16 << 10, queueDepth: 1))
        XCTAssertEqual(stats.tables, 41)
        XCTAssertEqual(stats.connections, 3)
        XCTAssertEqual(stats.rows, 30000 + (0..<40).reduce(0) { $0 + 50 + $1 * 10 })
    }

    func testWrongPasswordNamesHostAndUserNotPassword() throws {
        let server = try TestServer.fromEnvironment()
        var config = server.config("mysql")
        config.password = "Wr0ng-S3cret-pw"
        XCTAssertThrowsError(try SQLDumper(config: config).dump(to: -1, path: "/dev/null")) { e in
            let msg = "\(e)"
            guard let d = e as? DBError, case .connect(_, let user, let errno, _) = d.kind else { return XCTFail(msg) }
            XCTAssertEqual(user, server.user)
            XCTAssertEqual(errno, 1045)
            XCTAssertTrue(msg.hasPrefix("Cannot connect to the database as '\(server.user)'@'\(server.socket)'"), msg)
            XCTAssertFalse(msg.contains("Wr0ng-S3cret-pw"), msg)
        }
        guard let port = server.port else { return }
        config.host = "127.0.0.1"
        config.port = port
        XCTAssertThrowsError(try MySQLConnection(config: config)) { e in
            XCTAssertTrue("\(e)".contains("'\(server.user)'@'127.0.0.1:\(port)'"), "\(e)")
        }
    }

    func testUnknownDatabase() throws {
        let server = try TestServer.fromEnvironment()
        let config = server.config("fbt_does_not_exist_\(UInt32.random(in: 0...UInt32.max))")
        XCTAssertThrowsError(try SQLDumper(config: config).dump(to: -1, path: "/dev/null")) { e in
            XCTAssertEqual((e as? DBError)?.serverErrno, 1049, "\(e)")
        }
    }

    /// A full disk (/dev/full gives ENOSPC on every write) is a typed io error.
    func testFullDiskIsIOError() throws {
        let server = try TestServer.fromEnvironment()
        let db = try server.createDatabase("full")
        defer { db.drop() }
        let c = try server.admin(db.name)
        try c.execute("CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(100))")
        try c.execute("INSERT INTO t SELECT seq, REPEAT('x', 100) FROM seq_1_to_50000")
        let fd = open("/dev/full", O_WRONLY)
        guard fd >= 0 else { throw XCTSkip("/dev/full not available") }
        defer { close(fd) }
        XCTAssertThrowsError(try SQLDumper(config: server.config(db.name)).dump(to: fd, path: "/dev/full")) { e in
            guard let d = e as? DBError, case .io(let err, let path, _) = d.kind else { return XCTFail("\(e)") }
            XCTAssertEqual(err, ENOSPC)
            XCTAssertEqual(path, "/dev/full")
        }
    }

    /// A reader connection killed mid-dump (`KILL` from another session) fails the dump with a query error.
    func testKilledConnectionFails() throws {
        let server = try TestServer.fromEnvironment()
        let db = try server.createDatabase("kill")
        defer { db.drop() }
        let c = try server.admin(db.name)
        try c.execute("CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(200))")
        try c.execute("INSERT INTO t SELECT seq, REPEAT('k', 200) FROM seq_1_to_200000")
        // A pipe that nobody reads stalls the dump on a full pipe; the reader's SELECT is then killed.
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let readEnd = fds[0], writeEnd = fds[1]
        defer { close(readEnd) }
        let killerDone = DispatchSemaphore(value: 0)
        let killer = Thread {
            defer { killerDone.signal() }
            if let admin = try? server.admin() {
                for _ in 0..<250 {
                    if let id = try? admin.scalar("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT /*!40001 SQL_NO_CACHE%' AND DB = '\(db.name)'") {
                        try? admin.execute("KILL \(id)")
                        break
                    }
                    usleep(20_000)
                }
            }
            // Unblock the writer so the dump can report the failure.
            var buf = [UInt8](repeating: 0, count: 1 << 16)
            while read(readEnd, &buf, buf.count) > 0 {}
        }
        killer.start()
        XCTAssertThrowsError(try SQLDumper(config: server.config(db.name), options: DumpOptions(threads: 1)).dump(to: writeEnd, path: "pipe")) { e in
            guard let d = e as? DBError, case .query(let sql, let errno, _) = d.kind else { return XCTFail("\(e)") }
            XCTAssertTrue(sql.hasPrefix("SELECT"), sql)
            XCTAssertTrue([1317, 1927, 2013, 2006].contains(errno), "\(e)")
        }
        close(writeEnd)
        killerDone.wait()
    }
}

