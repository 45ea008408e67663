import Foundation
import XCTest
@testable import DBStream

final class SQLRestorerTests: XCTestCase {
    /// A source database with several tables, a view, a trigger and a routine.
    private func makeSource(_ server: TestServer) throws -> (name: String, drop: () -> Void) {
        let db = try server.createDatabase("rsrc")
        let c = try server.admin(db.name)
        for i in 0..<4 {
            try c.execute("CREATE TABLE t\(i) (id INT PRIMARY KEY, s VARCHAR(100), b VARBINARY(20), d DECIMAL(12,3), ts TIMESTAMP NULL)")
            try c.execute("INSERT INTO t\(i) SELECT seq, IF(seq % 5 = 0, NULL, CONCAT('v;', seq, '\\n''😀')), UNHEX(HEX(seq)), seq / 7, FROM_UNIXTIME(1e9 + seq) FROM seq_1_to_\(3000 * (i + 1))")
        }
        try c.execute("ALTER TABLE t1 ADD CONSTRAINT fk1 FOREIGN KEY (id) REFERENCES t3 (id)")
        try c.execute("CREATE VIEW v AS SELECT COUNT(*) AS n FROM t0")
        try c.execute("CREATE TRIGGER trg BEFORE INSERT ON t0 FOR EACH ROW BEGIN SET NEW.s = UPPER(NEW.s); SET NEW.d = NEW.d + 1; END")
        try c.execute("CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END")
        return db
    }

    private func restore(_ server: TestServer, file: String, into db: String, threads: Int = 2) throws -> RestoreStats {
        let fd = open(file, O_RDONLY)
        guard fd >= 0 else { throw DBError(.io(errno: errno, path: file, operation: "Cannot open")) }
        defer { close(fd) }
        return try SQLRestorer(config: server.config(db), options: RestoreOptions(threads: threads)).restore(fromFD: fd, path: file)
    }

    /// fastbackup's own dump restores to identical tables (CHECKSUM TABLE) and objects.
    func testRoundTripOwnDump() throws {
        let server = try TestServer.fromEnvironment()
        let src = try makeSource(server)
        defer { src.drop() }
        let (path, _) = try server.dump(src.name)
        defer { try? FileManager.default.removeItem(atPath: path) }
        for threads in [1, 3] {
            let dst = try server.createDatabase("rdst")
            defer { dst.drop() }
            let stats = try restore(server, file: path, into: dst.name, threads: threads)
            XCTAssertEqual(stats.tables, 4)
            XCTAssertGreaterThanOrEqual(stats.dataStatements, 4)
            XCTAssertEqual(try server.checksums(dst.name), try server.checksums(src.name))
            XCTAssertEqual(try server.objectCounts(dst.name), try server.objectCounts(src.name))
        }
    }

    /// A dump made by `mariadb-dump --single-transaction --routines --triggers --events DB > file`
    /// restores to identical tables (its LOCK TABLES are skipped, its per-table SETs reach every connection).
    func testRoundTripMariadbDump() throws {
        let server = try TestServer.fromEnvironment()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/mariadb-dump") else {
            throw XCTSkip("mariadb-dump not installed: apt-get install mariadb-client")
        }
        let src = try makeSource(server)
        defer { src.drop() }
        let path = NSTemporaryDirectory() + "fbt-md-\(UInt32.random(in: 0...UInt32.max)).sql"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/mariadb-dump")
        p.arguments = ["--no-defaults", "--socket=\(server.socket)", "--user=\(server.user)", "--single-transaction",
                       "--routines", "--triggers", "--events", "--result-file=\(path)", src.name]
        p.environment = ["MYSQL_PWD": server.password]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let dst = try server.createDatabase("rdst")
        defer { dst.drop() }
        let stats = try restore(server, file: path, into: dst.name)
        XCTAssertEqual(stats.tables, 4)
        XCTAssertGreaterThan(stats.skippedLocks, 0)
        XCTAssertEqual(try server.checksums(dst.name), try server.checksums(src.name))
        XCTAssertEqual(try server.objectCounts(dst.name), try server.objectCounts(src.name))
    }

    /// A broken statement midway stops the load and reports its line, the server
    /// error, and the tables restored before it.
    func testBrokenStatementReportsLine() throws {
        let server = try TestServer.fromEnvironment()
        let src = try makeSource(server)
        defer { src.drop() }
        // One reader keeps the tables one after another in the file, so which tables
        // precede the broken statement is fixed.
        let (path, _) = try server.dump(src.name, options: DumpOptions(threads: 1))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let lines = try String(contentsOfFile: path, encoding: .utf8).components(separatedBy: "\n")
        // Break the schema part (runs on the main connection) and, separately, a data statement.
        let createT2 = lines.firstIndex { $0.hasPrefix("CREATE TABLE `t2`") }!
        let insertT3 = lines.firstIndex { $0.hasPrefix("INSERT INTO `t3`") }!
        for (label, index, replacement) in [
            ("schema", createT2, "CREATE TABLE `t2` (id INT PRIMARY KEY, broken here ("),
            ("data", insertT3, "INSERT INTO `t3` VALUES (1,'x',0x00,1.000,NULL),(2,'x',0x00,1.000,NULL),(3,'x',,1.000,NULL);"),
        ] {
            var copy = lines
            if label == "schema" {
                // Replace the whole multi-line CREATE TABLE with one broken line.
                var end = index
                while !copy[end].hasSuffix(";") { end += 1 }
                copy.replaceSubrange(index...end, with: [replacement + ";"])
            } else {
                copy[index] = replacement
            }
            let expectedLine = copy.firstIndex(of: label == "schema" ? replacement + ";" : replacement)! + 1
            let broken = path + ".\(label)"
            try copy.joined(separator: "\n").write(toFile: broken, atomically: false, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: broken) }
            let dst = try server.createDatabase("rbad")
            defer { dst.drop() }
            XCTAssertThrowsError(try restore(server, file: broken, into: dst.name)) { e in
                guard let d = e as? DBError, case .restore(_, let line, _, let errno, _, let done) = d.kind else {
                    return XCTFail("\(e)")
                }
                XCTAssertEqual(line, expectedLine, label)
                XCTAssertEqual(errno, 1064, label)
                XCTAssertEqual(done, label == "schema" ? ["t0", "t1"] : ["t0", "t1", "t2"], label)
                XCTAssertTrue("\(e)".contains("\(broken):\(expectedLine)"), "\(e)")
            }
        }
    }
}

extension SQLRestorerTests {
    /// The layout Magento 2's own PHP backup writes (Magento\Backup\Model\ResourceModel\Helper and
    /// Magento\Framework\Backup\Db): header SETs, per table DROP/CREATE, LOCK TABLES, DISABLE KEYS,
    /// extended INSERTs, ENABLE KEYS, UNLOCK TABLES, triggers in DELIMITER ;; blocks, footer SETs.
    /// Written here by hand in that layout, since PHP and Magento are not part of the test setup.
    func testLoadsMagentoLayout() throws {
        let server = try TestServer.fromEnvironment()
        let dst = try server.createDatabase("rmag")
        defer { dst.drop() }
        let sql = """
            -- Magento DB backup
            --
            -- Host: localhost    Database: magento
            -- ------------------------------------------------------
            -- Server version: 10.11

            /*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
            /*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;
            /*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;
            /*!40101 SET NAMES utf8 */;
            /*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
            /*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;
            /*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;
            /*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;

            --
            -- Table structure for table `store`
            --

            DROP TABLE IF EXISTS `store`;
            CREATE TABLE `store` (
              `store_id` smallint(5) unsigned NOT NULL AUTO_INCREMENT COMMENT 'Store ID',
              `code` varchar(32) DEFAULT NULL COMMENT 'Code',
              PRIMARY KEY (`store_id`)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8 COMMENT='Stores';

            --
            -- Dumping data for table `store`
            --

            LOCK TABLES `store` WRITE;
            /*!40000 ALTER TABLE `store` DISABLE KEYS */;
            INSERT INTO `store` VALUES (0,'admin'),(1,'default');
            /*!40000 ALTER TABLE `store` ENABLE KEYS */;
            UNLOCK TABLES;

            DROP TABLE IF EXISTS `sales_order`;
            CREATE TABLE `sales_order` (
              `entity_id` int(10) unsigned NOT NULL AUTO_INCREMENT,
              `store_id` smallint(5) unsigned DEFAULT NULL,
              `customer_note` text,
              PRIMARY KEY (`entity_id`),
              CONSTRAINT `SALES_ORDER_STORE_ID_STORE_STORE_ID` FOREIGN KEY (`store_id`) REFERENCES `store` (`store_id`) ON DELETE SET NULL
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8;

            LOCK TABLES `sales_order` WRITE;
            /*!40000 ALTER TABLE `sales_order` DISABLE KEYS */;
            INSERT INTO `sales_order` VALUES (1,1,'Leave at the door;\\nthanks'),(2,NULL,NULL),(3,9,'store 9 is gone');
            /*!40000 ALTER TABLE `sales_order` ENABLE KEYS */;
            UNLOCK TABLES;

            --
            -- Triggers structure for table `sales_order`
            --

            DELIMITER ;;
            CREATE TRIGGER trg_sales_order_after_insert AFTER INSERT ON `sales_order` FOR EACH ROW
            BEGIN
                SET @last_order = NEW.entity_id;
            END;;
            DELIMITER ;

            /*!40101 SET SQL_MODE=@OLD_SQL_MODE */;
            /*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;
            /*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;
            /*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
            /*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;
            /*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;
            /*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;

            -- Dump completed on 2024-01-01 00:00:00

            """
        let path = NSTemporaryDirectory() + "fbt-magento-\(UInt32.random(in: 0...UInt32.max)).sql"
        try sql.write(toFile: path, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let stats = try restore(server, file: path, into: dst.name)
        XCTAssertEqual(stats.tables, 2)
        XCTAssertEqual(stats.skippedLocks, 4)
        let c = try server.admin(dst.name)
        XCTAssertEqual(try c.query("SELECT store_id, code FROM store ORDER BY store_id"), [["0", "admin"], ["1", "default"]])
        XCTAssertEqual(try c.scalar("SELECT customer_note FROM sales_order WHERE entity_id = 1"), "Leave at the door;\nthanks")
        XCTAssertEqual(try c.scalar("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()"), "1")
    }
}
