@testable import DBStream
import XCTest

/// Which CREATE TABLE statements the restore splits into a table and a later key build, and
/// what the two halves say. The statements are in `SHOW CREATE TABLE`'s form (MariaDB 10.11).
final class DeferredKeysTests: XCTestCase {
    private let order = """
    CREATE TABLE `sales_order` (
      `entity_id` int(10) unsigned NOT NULL AUTO_INCREMENT,
      `increment_id` varchar(32) DEFAULT NULL COMMENT 'shown, as (\\'a\\', b)',
      `store_id` smallint(5) unsigned DEFAULT NULL,
      `total` decimal(20,4) DEFAULT NULL,
      PRIMARY KEY (`entity_id`),
      UNIQUE KEY `SALES_ORDER_INCREMENT_ID_STORE_ID` (`increment_id`,`store_id`),
      KEY `SALES_ORDER_STORE_ID` (`store_id`) COMMENT 'k, v',
      CONSTRAINT `positive` CHECK (`total` >= 0)
    ) ENGINE=InnoDB AUTO_INCREMENT=9 DEFAULT CHARSET=utf8mb3 COMMENT='Sales, Flat Order'
    """

    private func split(_ sql: String) -> (create: String, build: String, count: Int)? {
        guard let d = DeferredKeys(create: Array(sql.utf8), database: "shop") else { return nil }
        return (String(decoding: d.create, as: UTF8.self), String(decoding: d.build, as: UTF8.self), d.count)
    }

    /// Plain keys move to one ALTER that names the table with its database; UNIQUE keys stay, so
    /// a duplicate fails its INSERT as with the client.
    func testPlainSecondaryKeysMoveToOneAlter() throws {
        let d = try XCTUnwrap(split(order.replacingOccurrences(of: "  KEY `SALES_ORDER_STORE_ID`",
                                                               with: "  KEY `SALES_ORDER_TOTAL` (`total`),\n  KEY `SALES_ORDER_STORE_ID`")))
        XCTAssertEqual(d.count, 2)
        XCTAssertEqual(d.build, "ALTER TABLE `shop`.`sales_order` ADD KEY `SALES_ORDER_TOTAL` (`total`), "
                       + "ADD KEY `SALES_ORDER_STORE_ID` (`store_id`) COMMENT 'k, v'")
        XCTAssertEqual(d.create, """
        CREATE TABLE `sales_order` (
          `entity_id` int(10) unsigned NOT NULL AUTO_INCREMENT,
          `increment_id` varchar(32) DEFAULT NULL COMMENT 'shown, as (\\'a\\', b)',
          `store_id` smallint(5) unsigned DEFAULT NULL,
          `total` decimal(20,4) DEFAULT NULL,
          PRIMARY KEY (`entity_id`),
          UNIQUE KEY `SALES_ORDER_INCREMENT_ID_STORE_ID` (`increment_id`,`store_id`),
          CONSTRAINT `positive` CHECK (`total` >= 0)
        ) ENGINE=InnoDB AUTO_INCREMENT=9 DEFAULT CHARSET=utf8mb3 COMMENT='Sales, Flat Order'
        """)
        let all = try XCTUnwrap(DeferredKeys(create: Array(order.utf8), database: nil, unique: true))
        XCTAssertEqual(all.count, 2, "fastbackup's own dumps hold back UNIQUE keys too")
        XCTAssertTrue(String(decoding: all.build, as: UTF8.self).hasPrefix("ALTER TABLE `sales_order` ADD UNIQUE KEY"))
        let qualified = try XCTUnwrap(split(order.replacingOccurrences(of: "TABLE `sales_order`", with: "TABLE `db2`.`sales_order`")))
        XCTAssertTrue(qualified.build.hasPrefix("ALTER TABLE `db2`.`sales_order` ADD KEY"), qualified.build)
    }

    /// Each of these would come back as a different table, or the build could fail.
    func testTablesThatKeepTheirKeys() {
        let cases: [(String, String)] = [
            ("no primary key: InnoDB would cluster on the unique key", order.replacingOccurrences(of: "  PRIMARY KEY (`entity_id`),\n", with: "")),
            ("foreign key", order.replacingOccurrences(of: "CONSTRAINT `positive` CHECK (`total` >= 0)",
                                                        with: "CONSTRAINT `fk` FOREIGN KEY (`store_id`) REFERENCES `store` (`store_id`)")),
            ("IF NOT EXISTS: an existing table would get its keys twice", order.replacingOccurrences(of: "TABLE `sales_order`", with: "TABLE IF NOT EXISTS `sales_order`")),
            ("MyISAM", order.replacingOccurrences(of: "ENGINE=InnoDB", with: "ENGINE=MyISAM")),
            ("the server's default engine", order.replacingOccurrences(of: "ENGINE=InnoDB ", with: "")),
            ("AUTO_INCREMENT kept by a secondary key", order.replacingOccurrences(of: "PRIMARY KEY (`entity_id`)", with: "PRIMARY KEY (`store_id`,`entity_id`)")),
            ("FULLTEXT", order.replacingOccurrences(of: "KEY `SALES_ORDER_STORE_ID` (`store_id`)", with: "FULLTEXT KEY `ft` (`increment_id`)")),
            ("a comment", order.replacingOccurrences(of: "  PRIMARY KEY", with: "  /*!80000 x */ PRIMARY KEY")),
            ("partitioned", order + "\n PARTITION BY HASH (`entity_id`) PARTITIONS 2"),
            ("system versioning", order + " WITH SYSTEM VERSIONING"),
            ("only unique keys besides the primary key", order.replacingOccurrences(of: "  KEY `SALES_ORDER_STORE_ID` (`store_id`) COMMENT 'k, v',\n", with: "")),
            ("in a versioned comment the server may skip", "/*M!110000 " + order + " */"),
            ("SERIAL, which hides AUTO_INCREMENT and a key", order.replacingOccurrences(of: "int(10) unsigned NOT NULL AUTO_INCREMENT", with: "SERIAL")),
            ("only a primary key", order.replacingOccurrences(of: "  UNIQUE KEY `SALES_ORDER_INCREMENT_ID_STORE_ID` (`increment_id`,`store_id`),\n  KEY `SALES_ORDER_STORE_ID` (`store_id`) COMMENT 'k, v',\n", with: "")),
        ]
        for (label, sql) in cases {
            XCTAssertNotEqual(sql, order, "\(label): the case did not change the statement")
            XCTAssertNil(split(sql), label)
        }
    }

    func testReferencedTables() {
        let sql = "CREATE TABLE `c` (`a` int, `b` int, CONSTRAINT `x` FOREIGN KEY (`a`) REFERENCES `p1` (`id`), "
            + "CONSTRAINT `y` FOREIGN KEY (`b`) REFERENCES p2 (`id`) ON DELETE CASCADE, `note` text COMMENT 'REFERENCES q')"
        XCTAssertEqual(DeferredKeys.referencedTables(Array(sql.utf8)), ["p1", "p2"])
        XCTAssertEqual(DeferredKeys.referencedTables(Array("ALTER TABLE c ADD FOREIGN KEY (a) REFERENCES `db`.`p` (id)".utf8)), ["db.p"])
    }
}
