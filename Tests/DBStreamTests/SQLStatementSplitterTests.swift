import XCTest
@testable import DBStream
import TestSupport

final class SQLStatementSplitterTests: XCTestCase {
    private func split(_ sql: String, buffer: Int? = nil) throws -> [(String, Int)] {
        let s = SQLStatementSplitter(bytes: Array(sql.utf8))
        var out: [(String, Int)] = []
        while let st = try s.next() { out.append((st.string, st.line)) }
        return out
    }

    func testTable() throws {
        let cases: [(String, [(String, Int)])] = [
            ("SELECT 1; SELECT 2;", [("SELECT 1", 1), ("SELECT 2", 1)]),
            ("\n\n  SELECT 1\n;\nSELECT 2", [("SELECT 1", 3), ("SELECT 2", 5)]),
            ("INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`);", [("INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`)", 1)]),
            ("SELECT 'it''s; \\' ;', \"q\"\";\";", [("SELECT 'it''s; \\' ;', \"q\"\";\"", 1)]),
            ("SELECT 'back\\\\';SELECT 3;", [("SELECT 'back\\\\'", 1), ("SELECT 3", 1)]),
            ("SELECT `a``;b`; x", [("SELECT `a``;b`", 1), ("x", 1)]),
            ("-- comment; here\nSELECT 1; # hash; comment\nSELECT 2;", [("SELECT 1", 2), ("SELECT 2", 3)]),
            ("SELECT 1--1;", [("SELECT 1--1", 1)]),
            ("SELECT /* a; b */ 1;", [("SELECT   1", 1)]),
            ("/*!40101 SET NAMES utf8mb4 */;\n/*M!100616 SET NOTE_VERBOSITY=0 */;", [("/*!40101 SET NAMES utf8mb4 */", 1), ("/*M!100616 SET NOTE_VERBOSITY=0 */", 2)]),
            ("/*!50003 CREATE*/ /*!50003 TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET @a = 1; */;", [("/*!50003 CREATE*/ /*!50003 TRIGGER t BEFORE INSERT ON x FOR EACH ROW SET @a = 1; */", 1)]),
            ("DELIMITER ;;\nCREATE TRIGGER t BEGIN SET @a=1; SET @b=';;'; END ;;\nDELIMITER ;\nSELECT 1;",
             [("CREATE TRIGGER t BEGIN SET @a=1; SET @b=';;'; END", 2), ("SELECT 1", 4)]),
            ("delimiter $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\ndelimiter ;\n", [("CREATE PROCEDURE p() BEGIN SELECT 1; END", 2)]),
            ("SELECT 'multi\nline\nstring';\nSELECT 2;", [("SELECT 'multi\nline\nstring'", 1), ("SELECT 2", 4)]),
            ("SELECT 1", [("SELECT 1", 1)]),
            ("  ; ;\n-- only a comment\n", []),
            ("SELECT /*+ MAX_EXECUTION_TIME(1) */ 1;", [("SELECT /*+ MAX_EXECUTION_TIME(1) */ 1", 1)]),
            ("SELECT 'émoji 😀;';", [("SELECT 'émoji 😀;'", 1)]),
            ("/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump\n/*!40101 SET @A=1 */;", [("/*!40101 SET @A=1 */", 3)]),
        ]
        for (sql, want) in cases {
            let got = try split(sql)
            XCTAssertEqual(got.map { $0.0 }, want.map { $0.0 }, sql)
            XCTAssertEqual(got.map { $0.1 }, want.map { $0.1 }, sql)
        }
    }

    func testUnterminatedStringReportsItsLine() {
        XCTAssertThrowsError(try split("SELECT 1;\nSELECT 'open;\nmore")) { e in
            guard let d = e as? DBError, case .syntax(_, let line, _) = d.kind else { return XCTFail("\(e)") }
            XCTAssertEqual(line, 2)
        }
    }

    /// A long generated input split across many small reads gives the same statements as
    /// the original list (statements cross the 64 KiB read boundary at every offset).
    func testStreamingAcrossBufferBoundaries() throws {
        var rng = SeededRandom(seed: 7)
        var statements: [String] = []
        var sql = ""
        var lines: [Int] = []
        var line = 1
        for i in 0..<3000 {
            let n = Int(rng.next() % 400)
            let body = String(repeating: "x';\\\\\"`", count: n / 8)
            let s = "INSERT INTO t\(i) VALUES ('\(body.replacingOccurrences(of: "'", with: "''"))', \(i))"
            statements.append(s)
            lines.append(line)
            sql += s + ";\n"
            line += 1
            if i % 7 == 0 { sql += "-- note \(i);\n"; line += 1 }
        }
        let fdPath = NSTemporaryDirectory() + "fbt-split-\(UInt32.random(in: 0...UInt32.max)).sql"
        try sql.write(toFile: fdPath, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: fdPath) }
        let fd = open(fdPath, O_RDONLY)
        defer { close(fd) }
        let s = SQLStatementSplitter(fd: fd, path: fdPath, bufferSize: 100)
        var got: [SQLStatement] = []
        while let st = try s.next() { got.append(st) }
        XCTAssertEqual(got.map { $0.string }, statements)
        XCTAssertEqual(got.map { $0.line }, lines)
        XCTAssertEqual(s.bytesRead, sql.utf8.count)
    }

    func testStatementKinds() {
        let cases: [(String, StatementKind)] = [
            ("/*!40101 SET NAMES utf8mb4 */", .session),
            ("SET @a = 1", .session),
            ("INSERT INTO `t``x` VALUES (1)", .data("t`x")),
            ("INSERT IGNORE INTO db.t (a) VALUES (1)", .data("db.t")),
            ("REPLACE INTO t VALUES (1)", .data("t")),
            ("/*!40000 ALTER TABLE `t` DISABLE KEYS */", .alterTable("t", endsData: false)),
            ("/*!40000 ALTER TABLE `t` ENABLE KEYS */", .alterTable("t", endsData: true)),
            ("DROP TABLE IF EXISTS `t`", .tableDDL("t", isCreate: false)),
            ("DROP TABLE a, b", .other),
            ("CREATE TABLE `t` (a INT)", .tableDDL("t", isCreate: true)),
            ("CREATE TABLE IF NOT EXISTS t(a INT)", .tableDDL("t", isCreate: true)),
            ("CREATE VIEW v AS SELECT 1", .other),
            ("CREATE OR REPLACE TABLE t (a INT)", .other),
            ("LOCK TABLES `t` WRITE", .lock),
            ("UNLOCK TABLES", .lock),
            ("CREATE TRIGGER x AFTER INSERT ON t FOR EACH ROW SET @a = 1", .other),
        ]
        for (sql, want) in cases { XCTAssertEqual(StatementKind(Array(sql.utf8)), want, sql) }
    }
}
