import DBStream
import Foundation
import XCTest

/// Files the `mariadb` client loads one way and the parallel restore once loaded another. Each
/// file is written here, loaded with `mariadb DB < file` and with SQLRestorer on two data
/// connections into fresh databases, and the two are compared.
final class RestoreAgreesWithClientTests: ClientAgreementTestCase {
    /// mariadb-dump (and fastbackup's own dump) sets `sql_mode='NO_BACKSLASH_ESCAPES'` around a
    /// trigger made under it; the trigger's `'\'` is then a whole string. The same for a
    /// backslash in a double-quoted identifier under ANSI_QUOTES.
    func testSQLModeChangesHowStringsSplit() throws {
        try assertAgrees("""
        CREATE TABLE p (id INT PRIMARY KEY, p VARCHAR(40));
        SET @saved_sql_mode = @@sql_mode;
        SET sql_mode = 'NO_BACKSLASH_ESCAPES';
        DELIMITER ;;
        CREATE TRIGGER p_bi BEFORE INSERT ON p FOR EACH ROW SET NEW.p = REPLACE(NEW.p, '/', '\\') ;;
        DELIMITER ;
        SET sql_mode = 'ANSI_QUOTES';
        CREATE TABLE "y\\" (a INT);
        SET sql_mode = @saved_sql_mode;
        INSERT INTO p VALUES (1, 'a/b'), (2, 'c\\\\d');
        INSERT INTO `y\\` VALUES (7);
        """, "rsqlmode", ["SELECT id, p FROM p ORDER BY id", "SELECT a FROM `y\\`", "SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = DATABASE()"])
    }

    /// phpMyAdmin's layout: keys added by ALTER after the data, then the constraints. The
    /// constraint needs the referenced table's key, whose ALTER waits behind that table's data on
    /// another connection (held there for a second by SLEEP).
    func testForeignKeyWaitsForTheReferencedKey() throws {
        try assertAgrees("""
        CREATE TABLE a_parent (id INT NOT NULL, v VARCHAR(10));
        CREATE TABLE b_child (id INT NOT NULL, pid INT);
        INSERT INTO a_parent VALUES (1, IF(SLEEP(1), 'x', 'y')), (2, 'b');
        INSERT INTO b_child VALUES (1, 1), (2, 2);
        ALTER TABLE a_parent ADD PRIMARY KEY (id);
        ALTER TABLE b_child ADD PRIMARY KEY (id), ADD KEY pid (pid);
        ALTER TABLE b_child ADD CONSTRAINT b_child_fk FOREIGN KEY (pid) REFERENCES a_parent (id);
        """, "rfk", ["SELECT * FROM a_parent ORDER BY id", "SELECT * FROM b_child ORDER BY id",
                     "SELECT constraint_name FROM information_schema.referential_constraints WHERE constraint_schema = DATABASE()"])
    }

    /// Triggers made before the data (a schema dump, then a data dump) that write a log with
    /// AUTO_INCREMENT ids: the log gets its ids in file order.
    func testTriggeredTablesLoadInFileOrder() throws {
        var sql = """
        CREATE TABLE log (id INT AUTO_INCREMENT PRIMARY KEY, src CHAR(1), ref INT);
        CREATE TABLE a (id INT PRIMARY KEY);
        CREATE TABLE b (id INT PRIMARY KEY);
        CREATE TRIGGER a_ai AFTER INSERT ON a FOR EACH ROW INSERT INTO log (src, ref) VALUES ('a', NEW.id);
        CREATE TRIGGER b_ai AFTER INSERT ON b FOR EACH ROW INSERT INTO log (src, ref) VALUES ('b', NEW.id);

        """
        for table in ["a", "b"] {
            for st in 0..<8 {
                sql += "INSERT INTO \(table) VALUES " + (0..<500).map { "(\(st * 500 + $0))" }.joined(separator: ",") + ";\n"
            }
        }
        try assertAgrees(sql, "rtrg", ["SELECT id, src, ref FROM log ORDER BY id"])
    }

    /// `DELIMITER $$ -- comment`: the client takes the first word as the delimiter.
    func testDelimiterTakesTheFirstWord() throws {
        try assertAgrees("""
        CREATE TABLE t (id INT);
        DELIMITER $$ -- switch for the trigger
        CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.id = NEW.id + 100; END$$
        DELIMITER ;
        INSERT INTO t VALUES (1);
        """, "rdelim", ["SELECT id FROM t"])
    }

    /// `SET autocommit = 0`, then an UPDATE on the schema connection holding its row locks, then
    /// an INSERT into the same table, then COMMIT: the INSERT once waited on a data connection for
    /// those locks while the COMMIT waited for it (until the lock wait timeout).
    func testOpenTransactionOnTheSchemaConnectionKeepsOrder() throws {
        try assertAgrees("""
        CREATE TABLE t (id INT PRIMARY KEY, v INT);
        INSERT INTO t VALUES (1, 1), (2, 2);
        SET autocommit = 0;
        UPDATE t SET v = v + 10;
        INSERT INTO t VALUES (3, 3);
        COMMIT;
        SET autocommit = 1;
        """, "rtxn", ["SELECT id, v FROM t ORDER BY id"])
    }

    /// `SET STATEMENT ... FOR INSERT` is one insert, not a session setting for every connection;
    /// a temporary table exists on one connection only; a byte order mark is skipped.
    func testStatementFormsTheClientRunsOnce() throws {
        try assertAgrees("\u{FEFF}" + """
        CREATE TABLE t (id INT);
        SET STATEMENT sql_mode = '' FOR INSERT INTO t VALUES (1);
        CREATE TEMPORARY TABLE tmp (id INT);
        INSERT INTO tmp VALUES (5), (6);
        INSERT INTO t SELECT id FROM tmp;
        """, "ronce", ["SELECT id FROM t ORDER BY id"])
    }

    /// phpMyAdmin and Adminer write no closing `ENABLE KEYS`, so a failure never listed any table
    /// as restored. A table counts once the file has moved on to another and its rows have run.
    func testFailureListsTablesOfDumpsWithoutEnableKeys() throws {
        let server = try TestServer.fromEnvironment()
        var sql = "CREATE TABLE a (id INT PRIMARY KEY);\n"
        for st in 0..<4 { sql += "INSERT INTO a VALUES " + (0..<500).map { "(\(st * 500 + $0))" }.joined(separator: ",") + ";\n" }
        sql += "CREATE TABLE b (id INT PRIMARY KEY);\nINSERT INTO b VALUES (1),(2);\nCREATE TABLE c (id INT PRIMARY KEY);\nINSERT INTO c VALUES (1, 2);\n"
        let path = try sqlFile(sql, "rlist")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let db = try server.createDatabase("rlist")
        defer { db.drop() }
        XCTAssertThrowsError(try restore(server, path, into: db.name)) { error in
            guard let e = error as? DBError, case .restore(_, let line, _, _, _, let tables) = e.kind else { return XCTFail("\(error)") }
            XCTAssertEqual(line, 9)
            XCTAssertEqual(Set(tables), ["a", "b"], "\(error)")
        }
    }

    /// The client stops at the first failed statement: a DROP after it must not run (here it
    /// would drop a table holding rows), and the error names the failed line even when the file
    /// also has a broken string further on.
    func testNothingRunsAfterAFailedStatement() throws {
        let server = try TestServer.fromEnvironment()
        for (label, tail) in [("rstopdrop", "DROP TABLE IF EXISTS keepme;\nCREATE TABLE keepme (id INT);\n"), ("rstopsplit", "SELECT 'oops\n")] {
            let path = try sqlFile("CREATE TABLE t (id INT PRIMARY KEY);\nINSERT INTO t VALUES (1, 2);\n" + tail, label)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let db = try server.createDatabase(label)
            defer { db.drop() }
            try server.admin(db.name).execute("CREATE TABLE keepme (id INT)")
            try server.admin(db.name).execute("INSERT INTO keepme VALUES (42)")
            XCTAssertThrowsError(try restore(server, path, into: db.name)) { error in
                XCTAssertTrue("\(error)".contains(":2:"), "\(label): the error must name line 2: \(error)")
            }
            XCTAssertEqual(try server.admin(db.name).query("SELECT id FROM keepme"), [["42"]], label)
        }
    }

    /// Secondary keys held back until a table's rows are in come back as the client makes them:
    /// the same SHOW CREATE TABLE, a foreign key to a table whose key was held back (built before
    /// the child table), and an INSERT IGNORE that needs a unique key.
    func testHeldBackKeysComeBackTheSame() throws {
        let stats = try assertAgrees("""
        CREATE TABLE `parent` (
          `id` int(11) NOT NULL AUTO_INCREMENT,
          `code` varchar(20) NOT NULL,
          `n` int(11) DEFAULT NULL,
          PRIMARY KEY (`id`),
          UNIQUE KEY `code` (`code`),
          KEY `n` (`n`)
        ) ENGINE=InnoDB AUTO_INCREMENT=4 DEFAULT CHARSET=utf8mb4;
        /*!40000 ALTER TABLE `parent` DISABLE KEYS */;
        INSERT INTO `parent` VALUES (1,'a',5),(2,'b',NULL),(3,'c',5);
        /*!40000 ALTER TABLE `parent` ENABLE KEYS */;
        CREATE TABLE `child` (
          `id` int(11) NOT NULL,
          `pcode` varchar(20) DEFAULT NULL,
          PRIMARY KEY (`id`),
          KEY `pcode` (`pcode`),
          CONSTRAINT `child_fk` FOREIGN KEY (`pcode`) REFERENCES `parent` (`code`)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
        INSERT INTO `child` VALUES (1,'a'),(2,'c');
        CREATE TABLE `tags` (
          `id` int(11) NOT NULL,
          `tag` varchar(20) NOT NULL,
          PRIMARY KEY (`id`),
          UNIQUE KEY `tag` (`tag`)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
        INSERT INTO `tags` VALUES (1,'x'),(2,'y');
        INSERT IGNORE INTO `tags` VALUES (3,'x'),(4,'z');
        """, "rheld", ["SHOW CREATE TABLE parent", "SHOW CREATE TABLE child", "SHOW CREATE TABLE tags",
                       "SELECT * FROM parent ORDER BY id", "SELECT * FROM child ORDER BY id", "SELECT * FROM tags ORDER BY id",
                       "SELECT index_name, seq_in_index, column_name, non_unique FROM information_schema.statistics "
                       + "WHERE table_schema = DATABASE() ORDER BY table_name, index_name, seq_in_index",
                       "SELECT constraint_name, unique_constraint_name FROM information_schema.referential_constraints WHERE constraint_schema = DATABASE()"])
        XCTAssertEqual(stats.tablesWithDeferredKeys, 1, "parent's plain key is held back; tags has a UNIQUE key only; child has a foreign key")
    }

    /// fastbackup's own dumps interleave the INSERTs of tables read at once: a table whose data
    /// opened with DISABLE KEYS is restored at its ENABLE KEYS, not when another table's rows come
    /// (here the file breaks off before `a`'s).
    func testInterleavedTableIsNotListedBeforeItsEnd() throws {
        let server = try TestServer.fromEnvironment()
        let path = try sqlFile("""
        CREATE TABLE `a` (`id` int(11) NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB;
        /*!40000 ALTER TABLE `a` DISABLE KEYS */;
        INSERT INTO `a` VALUES (1);
        CREATE TABLE `b` (`id` int(11) NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB;
        /*!40000 ALTER TABLE `b` DISABLE KEYS */;
        INSERT INTO `b` VALUES (1),(1);
        INSERT INTO `a` VALUES (2);
        """, "rinterleave")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let db = try server.createDatabase("rinterleave")
        defer { db.drop() }
        XCTAssertThrowsError(try restore(server, path, into: db.name)) { error in
            guard let e = error as? DBError, case .restore(_, let line, _, _, _, let tables) = e.kind else { return XCTFail("\(error)") }
            XCTAssertEqual(line, 6, "\(error)")
            XCTAssertEqual(tables, [], "a's rows were still coming: \(error)")
        }
    }

    /// Rows sent as LOAD DATA come out as the client's INSERTs make them: every escape, NULL
    /// next to the string 'NULL', bytes from hex and `_binary` in BLOBs, UTF-8 converted into a
    /// latin1 column, numbers into DECIMAL and DOUBLE, YEAR, dates, ENUM and JSON.
    func testLoadDataRowsMatchTheClientsInserts() throws {
        var sql = """
        /*!40101 SET NAMES utf8mb4 */;
        CREATE TABLE `v` (
          `id` int(11) NOT NULL AUTO_INCREMENT,
          `s` varchar(100) DEFAULT NULL,
          `l1` varchar(20) CHARACTER SET latin1 COLLATE latin1_swedish_ci DEFAULT NULL,
          `b` blob DEFAULT NULL,
          `d` decimal(12,4) DEFAULT NULL,
          `f` double DEFAULT NULL,
          `y` year(4) DEFAULT NULL,
          `ts` timestamp NULL DEFAULT NULL,
          `e` enum('a','b c') DEFAULT NULL,
          `j` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`j`)),
          PRIMARY KEY (`id`),
          KEY `s` (`s`)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

        """
        sql += "INSERT INTO `v` VALUES (1,'tab\\there ''q'' \\\"d\\\" \\\\ \\% \\_ \\0 \\Z \\b \\r x\\y','Grüße',"
            + "0x00095C0A0D1A27FF,-12.5,1.5e-7,'2024','2024-02-29 12:34:56','b c','{\"k\": [1, \"\\\\n\"]}'),"
            + "(2,'NULL',NULL,_binary 'raw\\nbin',NULL,NULL,NULL,NULL,NULL,NULL),"
            + "(3,'\\\\N','','',0,-0.0,'1901','1970-01-01 00:00:01','a','[]'),"
            + "(4,'日本語 naïve',NULL,'\t\n',99999999.9999,1e300,'2155',NULL,NULL,NULL);\n"
        let stats = try assertAgrees(sql, "rload", ["SELECT id, HEX(s), HEX(l1), HEX(b), d, f, y, ts, e, j FROM v ORDER BY id"])
        XCTAssertEqual(stats.loadedStatements, 1, "the INSERT went as LOAD DATA rows")
    }

    /// Without strict mode the client's INSERT truncates an over-long value with a warning. The
    /// LOAD DATA of that statement warns too, so it is rolled back and the INSERT runs: the same
    /// truncated row, and not a doubled one.
    func testLoadThatWarnsFallsBackToTheInsert() throws {
        let stats = try assertAgrees("""
        CREATE TABLE `w` (`id` int(11) NOT NULL, `c` varchar(3) DEFAULT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB;
        SET sql_mode = '';
        INSERT INTO `w` VALUES (1,'abcdef'),(2,'ok');
        INSERT INTO `w` VALUES (3,'xyz');
        """, "rloadwarn", ["SELECT id, c FROM w ORDER BY id"])
        XCTAssertEqual(stats.loadedStatements, 1, "only the INSERT without a warning stays LOAD DATA")
    }

    /// A duplicate key: LOAD DATA LOCAL would skip the row, so the load is rolled back and the
    /// INSERT reports the line, as the client does, with no row of the statement kept.
    func testDuplicateRowFailsAtItsInsert() throws {
        let server = try TestServer.fromEnvironment()
        let path = try sqlFile("""
        CREATE TABLE `p` (`id` int(11) NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB;
        INSERT INTO `p` VALUES (1),(2);
        INSERT INTO `p` VALUES (3),(2),(4);
        """, "rloaddup")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let db = try server.createDatabase("rloaddup")
        defer { db.drop() }
        XCTAssertThrowsError(try restore(server, path, into: db.name)) { error in
            guard let e = error as? DBError, case .restore(_, let line, _, _, _, _) = e.kind else { return XCTFail("\(error)") }
            XCTAssertEqual(line, 3, "\(error)")
        }
        XCTAssertEqual(try server.admin(db.name).query("SELECT id FROM p ORDER BY id"), [["1"], ["2"]])
    }

    /// Values LOAD DATA would read otherwise than the INSERT: YEAR numbers (0 is 0000, '0' is
    /// 2000), generated AUTO_INCREMENT ids (LOAD DATA reserves them in batches, and a rolled-back
    /// load keeps the ones it took), '' under EMPTY_STRING_IS_NULL, strings converted to a
    /// character_set_connection other than the client's, and a column an ALTER that also adds a
    /// foreign key turned into text. Each statement must come out as the client's.
    func testValuesThatStayInserts() throws {
        let cases: [(String, String, [String])] = [
            ("ryear", """
            CREATE TABLE `y` (`id` int(11) NOT NULL, `y` year(4) DEFAULT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB;
            INSERT INTO `y` VALUES (1,0),(2,00),(3,0.1),(4,1.5e0),(5,'0');
            """, ["SELECT id, y FROM y ORDER BY id"]),
            ("rautoinc", """
            SET sql_mode = '';
            CREATE TABLE `a` (`id` int(11) NOT NULL AUTO_INCREMENT, `s` varchar(3) DEFAULT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB;
            INSERT INTO `a` VALUES (NULL,'a'),(NULL,'b'),(NULL,'toolong');
            INSERT INTO `a` VALUES (0,'c'),(7,'d'),(0,'e');
            INSERT INTO `a` VALUES (NULL,'f');
            """, ["SELECT id, s FROM a ORDER BY id",
                  "SELECT AUTO_INCREMENT FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'a'"]),
            ("remptynull", """
            SET sql_mode = 'EMPTY_STRING_IS_NULL';
            CREATE TABLE `e` (`id` int(11) NOT NULL, `s` varchar(10) DEFAULT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB;
            INSERT INTO `e` VALUES (1,''),(2,'x');
            """, ["SELECT id, s IS NULL FROM e ORDER BY id"]),
            ("rconncs", """
            SET character_set_connection = latin1;
            CREATE TABLE `c` (`id` int(11) NOT NULL, `v` varchar(20) DEFAULT NULL, `b` varbinary(20) DEFAULT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
            INSERT INTO `c` VALUES (1,'€ 中','é');
            SET NAMES utf8mb4;
            SET character_set_client = latin1;
            INSERT INTO `c` VALUES (2,'é','é');
            """, ["SELECT id, HEX(v), HEX(b) FROM c ORDER BY id"]),
            ("ralterfk", """
            SET FOREIGN_KEY_CHECKS = 0;
            CREATE TABLE `p` (`id` int(11) NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB;
            CREATE TABLE `t` (`id` int(11) NOT NULL, `v` double DEFAULT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB;
            ALTER TABLE `t` MODIFY `v` varchar(20), ADD CONSTRAINT `fk` FOREIGN KEY (`id`) REFERENCES `p` (`id`);
            INSERT INTO `t` VALUES (1,1e3),(2,-0),(3,+5);
            """, ["SELECT id, v FROM t ORDER BY id"]),
        ]
        for (label, sql, queries) in cases { try assertAgrees(sql, label, queries) }
    }

    /// Held-back keys against what reads or copies a table's keys, and the session they are
    /// built in: CREATE TABLE ... LIKE copies them, and a key on a column with a non-ASCII name
    /// (mariadb-dump switches character_set_client around each CREATE TABLE) is not held back.
    func testHeldBackKeysAndTheStatementsAroundThem() throws {
        try assertAgrees("""
        CREATE TABLE `t` (`id` int(11) NOT NULL, `a` int(11) DEFAULT NULL, PRIMARY KEY (`id`), UNIQUE KEY `a` (`a`)) ENGINE=InnoDB;
        INSERT INTO `t` VALUES (1,3),(2,2),(3,1);
        CREATE TABLE `t2` LIKE `t`;
        SET NAMES latin1;
        SET character_set_client = utf8mb4;
        CREATE TABLE `g` (`id` int(11) NOT NULL, `größe` int(11) DEFAULT NULL, PRIMARY KEY (`id`), KEY `idx_größe` (`größe`)) ENGINE=InnoDB;
        SET character_set_client = latin1;
        INSERT INTO `g` VALUES (1,3);
        """, "rlike", ["SHOW CREATE TABLE t2", "SHOW CREATE TABLE g", "SELECT * FROM g"])
    }

    /// A held-back key is built in the database its CREATE TABLE was read in, even when the file
    /// moves to another with USE (mariadb-dump --databases); and a failed restore still adds the
    /// keys of the tables it created, as the client's tables have them.
    func testHeldBackKeysAcrossUseAndFailure() throws {
        let server = try TestServer.fromEnvironment()
        let db = try server.createDatabase("ruse")
        defer { db.drop() }
        let other = try server.createDatabase("ruse2")
        defer { other.drop() }
        let path = try sqlFile("""
        CREATE TABLE `t` (`id` int(11) NOT NULL, `a` int(11) DEFAULT NULL, PRIMARY KEY (`id`), KEY `a` (`a`)) ENGINE=InnoDB;
        INSERT INTO `t` VALUES (1,1);
        USE `\(other.name)`;
        CREATE TABLE `t` (`id` int(11) NOT NULL, `b` int(11) DEFAULT NULL, PRIMARY KEY (`id`), KEY `b` (`b`)) ENGINE=InnoDB;
        INSERT INTO `t` VALUES (1,1);
        INSERT INTO `t` VALUES (2,'x');
        """, "ruse")
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertThrowsError(try restore(server, path, into: db.name)) { error in
            guard let e = error as? DBError, case .restore(_, let line, _, _, _, _) = e.kind else { return XCTFail("\(error)") }
            XCTAssertEqual(line, 6, "\(error)")
        }
        let keys = "SELECT index_name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 't' ORDER BY index_name"
        XCTAssertEqual(try server.admin(db.name).query(keys), [["a"], ["PRIMARY"]])
        XCTAssertEqual(try server.admin(other.name).query(keys), [["b"], ["PRIMARY"]])
    }

    /// `0X41` is a column name to the server, not a hex literal: the statement fails as the client's does.
    func testCapitalHexPrefixIsNotALiteral() throws {
        let server = try TestServer.fromEnvironment()
        let path = try sqlFile("""
        CREATE TABLE `h` (`id` int(11) NOT NULL, `b` varbinary(10) DEFAULT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB;
        INSERT INTO `h` VALUES (1,0X41);
        """, "rhex")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let db = try server.createDatabase("rhex")
        defer { db.drop() }
        XCTAssertThrowsError(try restore(server, path, into: db.name)) { error in
            XCTAssertTrue("\(error)".contains("1054"), "\(error)")
        }
    }
}
