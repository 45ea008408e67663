import DBStream
import Foundation
import XCTest

/// Where a parallel restore could part from the client's result: keys held back, LOAD DATA
/// rows, statements spread over connections, and failures midway. Each file is loaded both ways
/// (or, for failures, the report and what is left are checked).
final class RestoreOrderAgreementTests: ClientAgreementTestCase {
    /// Values spread INSERTs must not take: a user variable counting rows, DEFAULT and NULL for
    /// an AUTO_INCREMENT column that is not the first (MyISAM and Aria are never LOAD DATA).
    func testConnectionDependentValuesKeepFileOrder() throws {
        var sql = "CREATE TABLE `n` (`id` int(11) NOT NULL, `v` varchar(10) DEFAULT NULL, PRIMARY KEY (`id`)) ENGINE=MyISAM;\nSET @n = 0;\n"
        for r in 0..<40 { sql += "INSERT INTO `n` VALUES (@n:=@n+1,'r\(r)');\n" }
        sql += "CREATE TABLE `t` (`v` varchar(10) DEFAULT NULL, `id` int(11) NOT NULL AUTO_INCREMENT, PRIMARY KEY (`id`)) ENGINE=MyISAM;\n"
        for r in 0..<40 { sql += "INSERT INTO `t` VALUES ('r\(r)',NULL),('s\(r)',NULL);\n" }
        sql += "CREATE TABLE `u` (`id` int(11) NOT NULL AUTO_INCREMENT, `v` varchar(10) DEFAULT NULL, PRIMARY KEY (`id`)) ENGINE=Aria;\n"
        for r in 0..<40 { sql += "INSERT INTO `u` VALUES (DEFAULT,'r\(r)');\n" }
        try assertAgrees(sql, "rconnvals", ["SELECT id, v FROM n ORDER BY id", "SELECT id, v FROM t ORDER BY id", "SELECT id, v FROM u ORDER BY id"])
    }

    /// A number with an exponent is a double to the server, so it is not a LOAD DATA field for an
    /// integer or DECIMAL column; and a CREATE TABLE in a versioned comment this server skips is
    /// not acted on.
    func testExponentsAndSkippedCreateAgree() throws {
        try assertAgrees("""
        CREATE TABLE `b` (`id` int(11) NOT NULL, `x` bigint(20) DEFAULT NULL, `y` decimal(65,0) DEFAULT NULL, `z` int(11) DEFAULT NULL, `f` double DEFAULT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB;
        INSERT INTO `b` VALUES (1,9007199254740993e0,123456789012345678901234567890e0,25e-1,1e2),(2,1e2,1e2,-25e-1,2.5);
        CREATE TABLE `t` (`id` int(11) NOT NULL, `a` int(11) DEFAULT NULL, PRIMARY KEY (`id`), KEY `a` (`a`)) ENGINE=InnoDB;
        /*M!990000 CREATE TABLE `t` (`id` int NOT NULL, `b` int, PRIMARY KEY (`id`), KEY `b` (`b`)) ENGINE=InnoDB */;
        INSERT INTO `t` VALUES (1,1);
        """, "rexp", ["SELECT * FROM b ORDER BY id", "SHOW CREATE TABLE t", "SELECT * FROM t"])
    }

    /// A duplicate in a UNIQUE key fails its INSERT, as with the client: the key is not held
    /// back, the table keeps it and the rows before, and the line is the INSERT's.
    func testDuplicateInAUniqueKeyFailsItsInsert() throws {
        let f = try failingRestore("""
        CREATE TABLE `t` (`id` int(11) NOT NULL, `u` varchar(10) NOT NULL, PRIMARY KEY (`id`), UNIQUE KEY `u` (`u`), KEY `id2` (`id`,`u`)) ENGINE=InnoDB;
        INSERT INTO `t` VALUES (1,'a'),(2,'b');
        INSERT INTO `t` VALUES (3,'a');
        """, "runique")
        defer { f.drop() }
        XCTAssertEqual(f.line, 3)
        XCTAssertEqual(f.tables, [])
        let c = try TestServer.fromEnvironment().admin(f.db)
        XCTAssertEqual(try c.query("SELECT id, u FROM t ORDER BY id"), [["1", "a"], ["2", "b"]])
        XCTAssertEqual(try c.query("SELECT DISTINCT index_name FROM information_schema.statistics WHERE table_schema = DATABASE() ORDER BY 1"),
                       [["id2"], ["PRIMARY"], ["u"]], "every key, the held-back one built after the failure")
    }

    /// After a failure, only the builds that had not run are run, in their own database: a key
    /// the file dropped stays dropped, and a table of the same name in another database gets none.
    func testFailureBuildsOnlyWhatIsStillHeldBack() throws {
        let server = try TestServer.fromEnvironment()
        let other = try server.createDatabase("rdrop2")
        defer { other.drop() }
        let f = try failingRestore("""
        CREATE TABLE `t` (`id` int(11) NOT NULL, `a` int(11) NOT NULL, PRIMARY KEY (`id`), KEY `k` (`a`)) ENGINE=InnoDB;
        INSERT INTO `t` VALUES (1,1),(2,2);
        ALTER TABLE `t` DROP KEY `k`;
        CREATE TABLE `h` (`id` int(11) NOT NULL, `a` int(11) NOT NULL, PRIMARY KEY (`id`), KEY `ha` (`a`)) ENGINE=InnoDB;
        INSERT INTO `h` VALUES (1,1);
        USE `\(other.name)`;
        CREATE TABLE `h` (`id` int(11) NOT NULL, `a` int(11) NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB;
        INSERT INTO `h` VALUES (1,1),(1,1);
        """, "rdrop")
        defer { f.drop() }
        XCTAssertEqual(f.line, 8)
        let keys = "SELECT table_name, index_name FROM information_schema.statistics WHERE table_schema = DATABASE() ORDER BY 1, 2"
        XCTAssertEqual(try server.admin(f.db).query(keys), [["h", "ha"], ["h", "PRIMARY"], ["t", "PRIMARY"]])
        XCTAssertEqual(try server.admin(other.name).query(keys), [["h", "PRIMARY"]])
    }

    /// With autocommit off, `SET @v = (SELECT ...)` on the schema connection opens a transaction
    /// that holds the table's metadata lock: the ALTER after it must not be sent to a data
    /// connection to wait for it (a 10 s read timeout turns a hang into a failure here).
    func testReadingSetUnderAutocommitOffDoesNotHang() throws {
        let server = try TestServer.fromEnvironment()
        let path = try sqlFile("""
        SET autocommit=0;
        CREATE TABLE `t` (`id` int(11) NOT NULL, `a` int(11) DEFAULT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB;
        INSERT INTO `t` VALUES (1,1),(2,2);
        SET @c = (SELECT COUNT(*) FROM `t`);
        INSERT INTO `t` VALUES (3,3);
        ALTER TABLE `t` ADD COLUMN `b` int(11) DEFAULT NULL;
        INSERT INTO `t` VALUES (4,4,@c);
        COMMIT;
        """, "rhang")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let db = try server.createDatabase("rhang")
        defer { db.drop() }
        _ = try restore(server, path, into: db.name, options: RestoreOptions(threads: 2, readTimeout: 10))
        XCTAssertEqual(try server.admin(db.name).query("SELECT id, a, b FROM t ORDER BY id"),
                       [["1", "1", nil], ["2", "2", nil], ["3", "3", nil], ["4", "4", "2"]])
    }

    /// A table whose statement failed is not listed as restored, though the file had moved on
    /// from it before (tables without DISABLE KEYS count as restored when the file leaves them).
    func testFailedTableIsNotListedAsRestored() throws {
        let f = try failingRestore("""
        CREATE TABLE `t1` (`id` int(11) NOT NULL, PRIMARY KEY (`id`)) ENGINE=MyISAM;
        CREATE TABLE `t2` (`id` int(11) NOT NULL, PRIMARY KEY (`id`)) ENGINE=MyISAM;
        INSERT INTO `t1` VALUES (1);
        INSERT INTO `t2` VALUES (1);
        INSERT INTO `t1` VALUES (2);
        INSERT INTO `t2` VALUES (2);
        INSERT INTO `t1` VALUES (2);
        """, "rlisted")
        defer { f.drop() }
        XCTAssertEqual(f.line, 7)
        XCTAssertFalse(f.tables.contains("t1"), "\(f.tables)")
    }

    /// UNIQUE keys are held back in fastbackup's own dumps only (known by their first line): a
    /// consistent snapshot of a table cannot break its unique keys, any other file may.
    func testUniqueKeysAreHeldBackInOwnDumpsOnly() throws {
        let body = """
        CREATE TABLE `t` (`id` int(11) NOT NULL, `u` varchar(10) NOT NULL, PRIMARY KEY (`id`), UNIQUE KEY `u` (`u`)) ENGINE=InnoDB;
        INSERT INTO `t` VALUES (1,'a'),(2,'b');
        """
        let queries = ["SHOW CREATE TABLE t", "SELECT * FROM t ORDER BY id"]
        let own = try assertAgrees("-- fastbackup SQL dump\n-- Server version: test\n" + body, "rownuniq", queries)
        XCTAssertEqual(own.tablesWithDeferredKeys, 1)
        let other = try assertAgrees("-- MariaDB dump 10.19\n" + body, "rforeignuniq", queries)
        XCTAssertEqual(other.tablesWithDeferredKeys, 0)
    }
}
