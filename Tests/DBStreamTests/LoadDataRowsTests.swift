@testable import DBStream
import XCTest

/// How a plain INSERT becomes LOAD DATA rows, and which INSERTs stay as they are. The tables
/// are in `SHOW CREATE TABLE`'s form (MariaDB 10.11).
final class LoadDataRowsTests: XCTestCase {
    private let table = """
    CREATE TABLE `t` (
      `id` int(11) NOT NULL AUTO_INCREMENT,
      `price` decimal(12,4) DEFAULT NULL,
      `name` varchar(255) DEFAULT NULL,
      `data` blob DEFAULT NULL,
      PRIMARY KEY (`id`),
      KEY `name` (`name`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
    """

    private func rows(_ insert: String, _ create: String? = nil) -> String? {
        guard let t = LoadableTable(create: Array((create ?? table).utf8)) else { return "not loadable" }
        guard let r = t.rows(of: Array(insert.utf8)) else { return nil }
        XCTAssertEqual(String(decoding: Array(insert.utf8)[r.table], as: UTF8.self), "`t`")
        return "\(r.rows) " + String(decoding: r.data, as: UTF8.self)
    }

    func testValuesBecomeEscapedFields() {
        let insert = #"INSERT INTO `t` VALUES (1,-12.5,'tab\there ''q'' \"d\" \\ \% \_ \0 \Z x\y',0x00095C0A41),"#
            + "(2,NULL,'NULL',_binary 'b\\nin'),(3, 7 ,'\t raw\nnew','')"
        XCTAssertEqual(rows(insert), "3 " + "1\t-12.5\ttab\\there 'q' \"d\" \\\\ \\\\% \\\\_ \\0 \u{1A} xy\t\\0\\t\\\\\\nA\n"
                       + "2\t\\N\tNULL\tb\\nin\n"
                       + "3\t7\t\\t raw\\nnew\t\n")
    }

    /// Each would mean something else as a LOAD DATA field, or is not a plain list of rows.
    func testStatementsThatStayInserts() {
        let cases = [
            "INSERT INTO `t` VALUES (1,2,3,NULL)",                       // a number for a string column
            "INSERT INTO `t` VALUES (1,2,0x41,NULL)",                    // hex for a string column
            "INSERT INTO `t` VALUES (1,2,'a',NOW())",                    // an expression
            "INSERT INTO `t` VALUES (1,2,'a')",                          // too few values
            "INSERT INTO `t` VALUES (1,2,'a',NULL,5)",                   // too many
            "INSERT INTO `t` VALUES (1,2,'a',NULL) ON DUPLICATE KEY UPDATE name='b'",
            "INSERT IGNORE INTO `t` VALUES (1,2,'a',NULL)",
            "INSERT INTO `t` (id, price, name, data) VALUES (1,2,'a',NULL)",
            "INSERT INTO `t` VALUES (1,2,_latin1'a',NULL)",              // another character set
            "INSERT INTO `t` VALUES (1,2,'a',0x123)",                     // odd hex digits
            "INSERT INTO `t` VALUES (1,-12.5e0,'a',NULL)",                // an exponent: a double to the server, for a DECIMAL
            "INSERT INTO `t` VALUES (NULL,2,'a',NULL)",                   // a generated AUTO_INCREMENT id
            "INSERT INTO `t` VALUES (0,2,'a',NULL)",
            "INSERT INTO `t` VALUES (1,2,'a,NULL)",                       // unterminated
        ]
        for c in cases { XCTAssertNil(rows(c), c) }
    }

    func testTablesThatAreNeverLoaded() {
        let cases = [
            table.replacingOccurrences(of: "ENGINE=InnoDB", with: "ENGINE=MyISAM"),   // a failed load cannot be rolled back
            table.replacingOccurrences(of: "`data` blob", with: "`data` bit(8)"),
            table.replacingOccurrences(of: "`data` blob DEFAULT NULL", with: "`data` int(11) GENERATED ALWAYS AS (`id` + 1) VIRTUAL"),
            table.replacingOccurrences(of: "`data` blob DEFAULT NULL", with: "`data` blob DEFAULT NULL INVISIBLE"),
            table.replacingOccurrences(of: "`data` blob", with: "`data` point"),
        ]
        for c in cases {
            XCTAssertNotEqual(c, table)
            XCTAssertNil(LoadableTable(create: Array(c.utf8)), c)
        }
    }
}
