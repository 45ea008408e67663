import Foundation
import XCTest
@testable import DBStream

/// Dumps laid out the way phpMyAdmin, Adminer and `mariadb-dump --no-autocommit` write them.
/// Each file is loaded twice: by the `mariadb` client (what the file's author meant) and by
/// SQLRestorer on two data connections; the two copies must agree (CHECKSUM TABLE, row counts,
/// AUTO_INCREMENT) and hold every row. The phpMyAdmin and Adminer files are written here in
/// those tools' layouts (neither tool is part of the test setup): phpMyAdmin 4.x/5.x "SQL"
/// export with its defaults, Adminer 4.8 "SQL" export.
final class ForeignDumpLayoutTests: XCTestCase {
    private let rows = 1500

    /// `INSERT` statements of `perStatement` rows each, as the tools split them.
    private func inserts(_ head: String, rows: Range<Int>, perStatement: Int, tuple: (Int) -> String) -> String {
        stride(from: rows.lowerBound, to: rows.upperBound, by: perStatement).map { start in
            let end = min(start + perStatement, rows.upperBound)
            return head + "\n" + (start..<end).map(tuple).joined(separator: ",\n") + ";\n"
        }.joined(separator: "\n")
    }

    /// phpMyAdmin: `SET AUTOCOMMIT = 0; START TRANSACTION;` at the top (4.x; 5.x omits the
    /// first), tables without keys, INSERTs with a column list (or without, the "none" option),
    /// keys and AUTO_INCREMENT added by ALTER TABLE at the end (a table without keys gets none:
    /// an ALTER would commit its connection's open transaction), one COMMIT.
    private func phpMyAdminDump(autocommitOff: Bool) -> String {
        """
        -- phpMyAdmin SQL Dump
        -- version 4.9.5
        -- https://www.phpmyadmin.net/
        --
        -- Host: localhost
        -- Server version: 10.11.6-MariaDB-0+deb12u1

        SET SQL_MODE = "NO_AUTO_VALUE_ON_ZERO";
        \(autocommitOff ? "SET AUTOCOMMIT = 0;\n" : "")START TRANSACTION;
        SET time_zone = "+00:00";


        /*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
        /*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;
        /*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;
        /*!40101 SET NAMES utf8mb4 */;

        --
        -- Database: `magento`
        --

        -- --------------------------------------------------------

        --
        -- Table structure for table `cms_page`
        --

        CREATE TABLE `cms_page` (
          `page_id` smallint(6) NOT NULL COMMENT 'Entity ID',
          `title` varchar(255) DEFAULT NULL COMMENT 'Page Title',
          `content` mediumtext DEFAULT NULL COMMENT 'Page Content',
          `is_active` smallint(6) NOT NULL DEFAULT 1 COMMENT 'Is Page Active'
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COMMENT='CMS Page Table';

        --
        -- Dumping data for table `cms_page`
        --

        \(inserts("INSERT INTO `cms_page` (`page_id`, `title`, `content`, `is_active`) VALUES", rows: 1..<(rows + 1), perStatement: 400) {
            "(\($0), 'Page \($0)', '<p>Body; of \\'page\\' \($0)</p>\\r\\n', \($0 % 2))"
        })
        -- --------------------------------------------------------

        --
        -- Table structure for table `url_rewrite`
        --

        CREATE TABLE `url_rewrite` (
          `url_rewrite_id` int(10) UNSIGNED NOT NULL,
          `request_path` varchar(255) DEFAULT NULL
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3;

        --
        -- Dumping data for table `url_rewrite`
        --

        \(inserts("INSERT INTO `url_rewrite` VALUES", rows: 1..<(rows + 1), perStatement: 50) { "(\($0), 'p-\($0).html')" })
        --
        -- Indexes for dumped tables
        --

        --
        -- Indexes for table `cms_page`
        --
        ALTER TABLE `cms_page`
          ADD PRIMARY KEY (`page_id`);

        --
        -- AUTO_INCREMENT for dumped tables
        --

        --
        -- AUTO_INCREMENT for table `cms_page`
        --
        ALTER TABLE `cms_page`
          MODIFY `page_id` smallint(6) NOT NULL AUTO_INCREMENT COMMENT 'Entity ID', AUTO_INCREMENT=\(rows + 1);
        COMMIT;

        /*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
        /*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;
        /*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;

        """
    }

    /// Adminer: plain `SET` lines, DROP/CREATE with keys, INSERTs with a column list and a tab
    /// after each comma, a trigger in a `DELIMITER ;;` block, no transaction statements.
    private func adminerDump() -> String {
        """
        -- Adminer 4.8.1 MySQL 10.11.6-MariaDB-0+deb12u1 dump

        SET NAMES utf8;
        SET time_zone = '+00:00';
        SET foreign_key_checks = 0;
        SET sql_mode = 'NO_AUTO_VALUE_ON_ZERO';

        SET NAMES utf8mb4;

        DROP TABLE IF EXISTS `customer_entity`;
        CREATE TABLE `customer_entity` (
          `entity_id` int(10) unsigned NOT NULL AUTO_INCREMENT,
          `email` varchar(255) DEFAULT NULL,
          `created_at` timestamp NOT NULL DEFAULT current_timestamp(),
          PRIMARY KEY (`entity_id`),
          UNIQUE KEY `CUSTOMER_ENTITY_EMAIL` (`email`)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci;

        \(inserts("INSERT INTO `customer_entity` (`entity_id`, `email`, `created_at`) VALUES", rows: 1..<(rows + 1), perStatement: 300) {
            "(\($0),\t'c\($0)@example.com',\t'2024-01-0\($0 % 9 + 1) 10:00:00')"
        })
        DROP TABLE IF EXISTS `customer_grid_flat`;
        CREATE TABLE `customer_grid_flat` (
          `entity_id` int(10) unsigned NOT NULL,
          `name` text DEFAULT NULL,
          PRIMARY KEY (`entity_id`)
        ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb3 COLLATE=utf8mb3_general_ci;

        \(inserts("INSERT INTO `customer_grid_flat` VALUES", rows: 1..<(rows + 1), perStatement: 300) { "(\($0),\t'Name \($0)')" })
        DELIMITER ;;

        CREATE TRIGGER `trg_customer_entity_after_insert` AFTER INSERT ON `customer_entity` FOR EACH ROW
        INSERT INTO customer_grid_flat (entity_id, name) VALUES (NEW.entity_id, NEW.email);;

        DELIMITER ;

        -- 2026-11-27 04:00:00

        """
    }

    private func write(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "fbt-layout-\(UInt32.random(in: 0...UInt32.max)).sql"
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    /// Loads `path` with the client and with SQLRestorer and compares the two copies.
    private func assertSameAsClient(_ server: TestServer, _ path: String, tables: [String],
                                    file: StaticString = #filePath, line: UInt = #line) throws {
        let viaClient = try server.createDatabase("lcli")
        defer { viaClient.drop() }
        let viaRestorer = try server.createDatabase("lres")
        defer { viaRestorer.drop() }
        try server.client(viaClient.name, input: path)
        let fd = open(path, O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0, file: file, line: line)
        defer { close(fd) }
        let stats = try SQLRestorer(config: server.config(viaRestorer.name), options: RestoreOptions(threads: 2))
            .restore(fromFD: fd, path: path)
        XCTAssertGreaterThan(stats.dataStatements, 2, file: file, line: line)

        let c = try server.admin()
        for t in tables {
            for db in [viaClient.name, viaRestorer.name] {
                let n = Int(try c.scalar("SELECT COUNT(*) FROM \(db).\(t)") ?? "") ?? -1
                XCTAssertEqual(n, rows, "\(db).\(t) rows", file: file, line: line)
            }
            let autoIncrement = { (db: String) in
                try c.scalar("SELECT COALESCE(AUTO_INCREMENT, 0) FROM information_schema.tables WHERE table_schema = '\(db)' AND table_name = '\(t)'")
            }
            XCTAssertEqual(try autoIncrement(viaRestorer.name), try autoIncrement(viaClient.name),
                           "\(t) AUTO_INCREMENT", file: file, line: line)
        }
        XCTAssertEqual(try server.checksums(viaRestorer.name), try server.checksums(viaClient.name), file: file, line: line)
    }

    /// phpMyAdmin 4.x's `SET AUTOCOMMIT = 0` once made the data connections keep their
    /// INSERTs uncommitted (the file's COMMIT ran on the schema connection), and they were
    /// lost when the connections closed.
    func testPhpMyAdminWithAutocommitOff() throws {
        let server = try TestServer.fromEnvironment()
        let path = try write(phpMyAdminDump(autocommitOff: true))
        defer { try? FileManager.default.removeItem(atPath: path) }
        try assertSameAsClient(server, path, tables: ["cms_page", "url_rewrite"])
    }

    func testPhpMyAdminTransactionOnly() throws {
        let server = try TestServer.fromEnvironment()
        let path = try write(phpMyAdminDump(autocommitOff: false))
        defer { try? FileManager.default.removeItem(atPath: path) }
        try assertSameAsClient(server, path, tables: ["cms_page", "url_rewrite"])
    }

    func testAdminer() throws {
        let server = try TestServer.fromEnvironment()
        let path = try write(adminerDump())
        defer { try? FileManager.default.removeItem(atPath: path) }
        try assertSameAsClient(server, path, tables: ["customer_entity", "customer_grid_flat"])
    }

    /// `mariadb-dump --no-autocommit` wraps each table's INSERTs in
    /// `SET @OLD_AUTOCOMMIT=@@AUTOCOMMIT, @@AUTOCOMMIT=0;` ... `COMMIT;`. Before the data
    /// connections committed on their own, the second connection's INSERTs waited on the
    /// first's uncommitted rows until the lock wait timeout.
    func testMariadbDumpNoAutocommit() throws {
        let server = try TestServer.fromEnvironment()
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/mariadb-dump") else {
            throw XCTSkip("mariadb-dump not installed: apt-get install mariadb-client")
        }
        let src = try server.createDatabase("nacsrc")
        defer { src.drop() }
        let c = try server.admin(src.name)
        for t in ["a", "b"] {
            try c.execute("CREATE TABLE \(t) (id INT PRIMARY KEY, s VARCHAR(40))")
            try c.execute("INSERT INTO \(t) SELECT seq, CONCAT('row ', seq) FROM seq_1_to_\(rows)")
        }
        let path = NSTemporaryDirectory() + "fbt-nac-\(UInt32.random(in: 0...UInt32.max)).sql"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/mariadb-dump")
        // --net-buffer-length splits each table into several INSERTs, so both connections get some.
        p.arguments = ["--no-defaults", "--socket=\(server.socket)", "--user=\(server.user)", "--no-autocommit",
                       "--skip-add-locks", "--net-buffer-length=4096", "--result-file=\(path)", src.name]
        p.environment = ["MYSQL_PWD": server.password]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        XCTAssertTrue(text.uppercased().contains("@@AUTOCOMMIT=0;"), "the dump has the layout under test")
        try assertSameAsClient(server, path, tables: ["a", "b"])
    }
}
