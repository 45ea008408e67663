import Foundation
import XCTest
import TestSupport

/// `setup:backup --db` and `setup:rollback -d` through the command line, against the private
/// MariaDB server that scripts/test.sh starts (FASTBACKUP_TEST_MYSQL_*).
final class DatabaseCommandTests: XCTestCase {
    struct Server {
        let socket: String, user: String, password: String

        /// `mariadb` client on the test server, as the test account.
        @discardableResult
        func sql(_ statement: String, database: String = "") throws -> String {
            let r = try runProcess(["/usr/bin/mariadb", "--no-defaults", "--socket=\(socket)", "--user=\(user)", "-N", "-B", "-e", statement] + (database.isEmpty ? [] : [database]),
                                   environment: ["MYSQL_PWD": password])
            XCTAssertEqual(r.status, 0, "\(statement): \(r.stderr)")
            return r.stdout
        }

        /// One line per table: name and CHECKSUM TABLE's value.
        func checksums(_ database: String) throws -> String {
            let tables = try sql("SELECT table_name FROM information_schema.tables WHERE table_schema='\(database)' AND table_type='BASE TABLE' ORDER BY 1")
            return try tables.split(separator: "\n").map { try sql("CHECKSUM TABLE `\(database)`.`\($0)`") }.joined()
        }
    }

    func server() throws -> Server { try Self.server() }

    static func server() throws -> Server {
        let env = ProcessInfo.processInfo.environment
        guard let socket = env["FASTBACKUP_TEST_MYSQL_SOCKET"], let user = env["FASTBACKUP_TEST_MYSQL_USER"] else {
            throw XCTSkip("no test MariaDB: FASTBACKUP_TEST_MYSQL_SOCKET/USER are unset (run scripts/test.sh, which starts one)")
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/mariadb") else {
            throw XCTSkip("the mariadb client is not installed (apt-get install mariadb-client)")
        }
        return Server(socket: socket, user: user, password: env["FASTBACKUP_TEST_MYSQL_PASSWORD"] ?? "")
    }

    /// A store whose env.php uses the `array(...)` form, comments and a trailing comma, as
    /// hand-edited env.php files do.
    func store(database: String, server: Server, password: String? = nil, prefix: String = "") throws -> TempTree {
        try Self.store(database: database, server: server, password: password, prefix: prefix)
    }

    static func store(database: String, server: Server, password: String? = nil, prefix: String = "") throws -> TempTree {
        let t = try TempTree("dbstore")
        try t.file("app/etc/env.php", """
        <?php
        return array (
          'db' => array (
            'table_prefix' => '\(prefix)',
            'connection' => array (
              'default' => array (
                'host' => '\(server.socket)', // the private test server
                'dbname' => '\(database)',
                'username' => '\(server.user)',
                'password' => '\(password ?? server.password)',
                'active' => '1',
              ),
            ),
          ),
        );
        """)
        return t
    }

    func testNoEnvPHPGivesMagentoMessage() throws {
        let t = try TempTree("noenv")
        let r = try fastbackup(["setup:backup", "--db", "--root", t.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("No information is available: the Magento application is not installed."), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/var/.maintenance.flag"))
    }

    func testBackupThenRollbackRestoresEveryTable() throws {
        let s = try server()
        let db = "fbcli_\(UInt32.random(in: 0...UInt32.max))"
        try s.sql("CREATE DATABASE \(db) CHARACTER SET utf8mb4")
        defer { _ = try? s.sql("DROP DATABASE IF EXISTS \(db)") }
        try s.sql("""
        CREATE TABLE m_catalog (id INT PRIMARY KEY AUTO_INCREMENT, sku VARCHAR(64), price DECIMAL(12,4), note TEXT NULL, img BLOB, at TIMESTAMP NULL, KEY m_sku (sku));
        INSERT INTO m_catalog (sku, price, note, img, at) SELECT CONCAT('SKU-', seq), seq / 7, IF(seq % 5 = 0, NULL, CONCAT('line\\nnext ', seq, ' ☕')), UNHEX(MD5(seq)), FROM_UNIXTIME(1700000000 + seq) FROM seq_1_to_5000;
        CREATE TABLE m_log (id INT PRIMARY KEY, msg VARCHAR(20));
        INSERT INTO m_log VALUES (1, 'a''b'), (2, '');
        CREATE VIEW m_view AS SELECT id, sku FROM m_catalog WHERE id < 10;
        CREATE TRIGGER m_trg BEFORE INSERT ON m_log FOR EACH ROW SET NEW.msg = UPPER(NEW.msg);
        """, database: db)
        let before = try s.checksums(db)
        let t = try store(database: db, server: s, prefix: "m_")
        let r = try fastbackup(["setup:backup", "--db", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("DB backup is starting..."), r.stdout)
        XCTAssertTrue(r.stdout.contains("[SUCCESS]: DB backup completed successfully."), r.stdout)
        let name = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups").first { $0.hasSuffix("_db.sql") })
        XCTAssertNotNil(name.range(of: #"^\d+_db\.sql$"#, options: .regularExpression))

        try s.sql("DROP TABLE m_log; UPDATE m_catalog SET price = 0; DROP VIEW m_view; DROP TRIGGER IF EXISTS m_trg", database: db)
        let rb = try fastbackup(["setup:rollback", "-n", "-v", "-d", name, "--root", t.path])
        XCTAssertEqual(rb.status, 0, rb.stderr)
        XCTAssertTrue(rb.stdout.contains("[SUCCESS]: DB rollback completed successfully."), rb.stdout)
        XCTAssertEqual(try s.checksums(db), before)
        XCTAssertTrue(rb.stderr.contains("tablesWithDeferredKeys: 1"), rb.stderr)
        XCTAssertFalse(rb.stderr.contains("loadedStatements: 0"), "the rows went as LOAD DATA: \(rb.stderr)")
        // The escape hatch: the file's statements as written, with the same result.
        try s.sql("UPDATE m_catalog SET price = 0", database: db)
        let plain = try fastbackup(["setup:rollback", "-n", "-v", "--db-as-written", "-d", name, "--root", t.path])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual(try s.checksums(db), before)
        XCTAssertTrue(plain.stderr.contains("tablesWithDeferredKeys: 0") && plain.stderr.contains("loadedStatements: 0"), plain.stderr)
        XCTAssertEqual(try s.sql("SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema='\(db)' AND index_name='m_sku'"), "1\n")
        XCTAssertEqual(try s.sql("SELECT COUNT(*) FROM information_schema.views WHERE table_schema='\(db)'"), "1\n")
        XCTAssertEqual(try s.sql("SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema='\(db)'"), "1\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: t.path + "/var/backups/" + name), "the backup must be kept")
    }

    /// Magento's `setup:backup --db` writes its `_db.sql` through PHP's `compress.zlib://` at
    /// level 9: gzip under a `.sql` name. Fixture: `mariadb-dump DB | gzip -9 > var/backups/1700000001_db.sql`.
    /// It restores to the same checksums; the same file cut short is an error, not a partial
    /// success.
    func testGzipDumpAsMagentoWritesItRestores() throws {
        let s = try server()
        try requireTool("mariadb-dump")
        let db = "fbcli_\(UInt32.random(in: 0...UInt32.max))"
        try s.sql("CREATE DATABASE \(db)")
        defer { _ = try? s.sql("DROP DATABASE IF EXISTS \(db)") }
        try s.sql("CREATE TABLE g (id INT PRIMARY KEY, v VARCHAR(40)); INSERT INTO g SELECT seq, MD5(seq) FROM seq_1_to_20000;", database: db)
        let before = try s.checksums(db)
        let t = try store(database: db, server: s)
        try sh("mkdir -p '\(t.path)/var/backups' && MYSQL_PWD='\(s.password)' mariadb-dump --no-defaults --socket='\(s.socket)' --user='\(s.user)' \(db) | gzip -9 > '\(t.path)/var/backups/1700000001_db.sql'")
        try s.sql("DROP TABLE g", database: db)
        let r = try fastbackup(["setup:rollback", "-n", "-d", "1700000001_db.sql", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try s.checksums(db), before)

        let size = try FileManager.default.attributesOfItem(atPath: t.path + "/var/backups/1700000001_db.sql")[.size] as! Int
        try sh("head -c \(size / 2) '\(t.path)/var/backups/1700000001_db.sql' > '\(t.path)/var/backups/1700000002_db.sql'")
        let cut = try fastbackup(["setup:rollback", "-n", "-d", "1700000002_db.sql", "--root", t.path])
        XCTAssertEqual(cut.status, 1, cut.stdout)
        XCTAssertTrue(cut.stderr.contains("1700000002_db.sql"), cut.stderr)
    }

    /// env.php with Magento's SSL `driver_options` (PDO constants as keys) and the password read
    /// by getenv(): the backup once stopped at the first constant. It reads now, and asks for the
    /// password through FASTBACKUP_DB_PASSWORD, which then works.
    func testEnvPHPWithExpressionsBacksUp() throws {
        let s = try server()
        let t = try TempTree("dbexpr")
        try t.file("app/etc/env.php", """
        <?php
        return [
            'db' => ['connection' => ['default' => [
                'host' => '\(s.socket)', 'dbname' => 'mysql', 'username' => '\(s.user)',
                'password' => getenv('MAGENTO_DB_PASSWORD'),
                'driver_options' => [\\PDO::MYSQL_ATTR_SSL_VERIFY_SERVER_CERT => false],
            ]]],
        ];
        """)
        let without = try fastbackup(["setup:backup", "--db", "--root", t.path, "--no-maintenance"])
        XCTAssertEqual(without.status, 1)
        XCTAssertTrue(without.stderr.contains("getenv('MAGENTO_DB_PASSWORD')") && without.stderr.contains("FASTBACKUP_DB_PASSWORD"), without.stderr)
        let with = try fastbackup(["setup:backup", "--db", "--root", t.path, "--no-maintenance"], environment: ["FASTBACKUP_DB_PASSWORD": s.password])
        XCTAssertEqual(with.status, 0, with.stderr)
    }

    func testWrongPasswordNamesUserAndHostButNotPassword() throws {
        let s = try server()
        let t = try store(database: "mysql", server: s, password: "wrong-secret-42")
        let r = try fastbackup(["setup:backup", "--db", "--root", t.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains(s.user), r.stderr)
        XCTAssertFalse(r.stderr.contains("wrong-secret-42"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups"), [], "no file may look like a finished dump")
        // The environment variable overrides env.php and fixes it.
        let ok = try fastbackup(["setup:backup", "--db", "--root", t.path, "--db-name", "mysql"], environment: ["FASTBACKUP_DB_PASSWORD": s.password])
        XCTAssertEqual(ok.status, 0, ok.stderr)
    }

    func testBrokenStatementReportsItsLine() throws {
        let s = try server()
        let db = "fbcli_\(UInt32.random(in: 0...UInt32.max))"
        try s.sql("CREATE DATABASE \(db)")
        defer { _ = try? s.sql("DROP DATABASE IF EXISTS \(db)") }
        let t = try store(database: db, server: s)
        try t.file("var/backups/1700000000_db.sql", "CREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);\n-- a comment\nINSERT INTO a VALUES (2;\nINSERT INTO a VALUES (3);\n")
        let r = try fastbackup(["setup:rollback", "-n", "-d", "1700000000_db.sql", "--root", t.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("1700000000_db.sql:4:"), "the error must name line 4: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("(1064)"), r.stderr)
    }
}
