import Foundation
import XCTest
import TestSupport
@testable import DBStream

/// `setup:backup --db --strip/--include-tables/--exclude-tables` with n98-magerun2's groups and
/// the store's table prefix, against the private MariaDB server: what the dump holds, what its
/// header says, how list and rollback treat it. The tables are made by the SQL each test runs.
final class StrippedDumpTests: XCTestCase {
    /// A Magento-like schema with the prefix `pfx_`, a table of another application (no
    /// prefix), a trigger on a log table and a view on sales.
    private func makeStore(_ s: DatabaseCommandTests.Server) throws -> (db: String, t: TempTree) {
        let db = "fbstrip_\(UInt32.random(in: 0...UInt32.max))"
        try s.sql("CREATE DATABASE \(db) CHARACTER SET utf8mb4")
        try s.sql("""
        CREATE TABLE pfx_catalog_product_entity (id INT PRIMARY KEY, sku VARCHAR(64));
        CREATE TABLE pfx_customer_entity (id INT PRIMARY KEY, email VARCHAR(64));
        CREATE TABLE pfx_customer_address_entity (id INT PRIMARY KEY, city VARCHAR(64));
        CREATE TABLE pfx_sales_order (id INT PRIMARY KEY, total DECIMAL(12,4));
        CREATE TABLE pfx_sales_order_item (id INT PRIMARY KEY, order_id INT);
        CREATE TABLE pfx_quote (id INT PRIMARY KEY);
        CREATE TABLE pfx_report_event (id INT PRIMARY KEY);
        CREATE TABLE pfx_report_viewed_product_index (id INT PRIMARY KEY);
        CREATE TABLE pfx_session (id VARCHAR(64) PRIMARY KEY, data TEXT);
        CREATE TABLE pfx_catalog_product_index_price_cl (version_id INT PRIMARY KEY);
        CREATE TABLE pfx_admin_user (id INT PRIMARY KEY, name VARCHAR(64));
        CREATE TABLE other_app_log (id INT PRIMARY KEY);
        CREATE TABLE pfx_log_audit (id INT PRIMARY KEY);
        INSERT INTO pfx_catalog_product_entity SELECT seq, CONCAT('SKU', seq) FROM seq_1_to_50;
        INSERT INTO pfx_customer_entity SELECT seq, CONCAT('c', seq, '@example.com') FROM seq_1_to_20;
        INSERT INTO pfx_customer_address_entity SELECT seq, 'Berlin' FROM seq_1_to_20;
        INSERT INTO pfx_sales_order SELECT seq, seq * 10 FROM seq_1_to_30;
        INSERT INTO pfx_sales_order_item SELECT seq, seq FROM seq_1_to_30;
        INSERT INTO pfx_quote SELECT seq FROM seq_1_to_5;
        INSERT INTO pfx_report_event SELECT seq FROM seq_1_to_5;
        INSERT INTO pfx_report_viewed_product_index SELECT seq FROM seq_1_to_5;
        INSERT INTO pfx_session VALUES ('s1', 'secret');
        INSERT INTO pfx_catalog_product_index_price_cl SELECT seq FROM seq_1_to_5;
        INSERT INTO pfx_admin_user VALUES (1, 'admin');
        INSERT INTO other_app_log SELECT seq FROM seq_1_to_3;
        INSERT INTO pfx_log_audit VALUES (1);
        CREATE TRIGGER pfx_report_event_ai AFTER INSERT ON pfx_report_event FOR EACH ROW INSERT INTO pfx_log_audit VALUES (NEW.id + 1000);
        CREATE VIEW pfx_sales_view AS SELECT id, total FROM pfx_sales_order;
        """, database: db)
        return (db, try DatabaseCommandTests.store(database: db, server: s, prefix: "pfx_"))
    }

    private func rows(_ s: DatabaseCommandTests.Server, _ db: String, _ table: String) throws -> Int? {
        guard let out = try? s.sql("SELECT COUNT(*) FROM \(table)", database: db) else { return nil }
        return Int(out.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private func dumpName(_ t: TempTree) throws -> String {
        try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups").first { $0.contains("_db.sql") })
    }

    /// `--strip @development`: customers, orders, quotes, admin users, logs, sessions and
    /// changelogs keep their structure and lose their rows; the catalog and another
    /// application's table stay whole; the log table's trigger stays. The header says so,
    /// list marks the dump stripped, and rollback asks first (refuses under -n without
    /// --allow-stripped), then restores exactly that.
    func testStripDevelopmentGroup() throws {
        let s = try DatabaseCommandTests.server()
        let (db, t) = try makeStore(s)
        defer { _ = try? s.sql("DROP DATABASE IF EXISTS \(db)") }
        let r = try fastbackup(["setup:backup", "--db", "--strip", "@development", "--no-maintenance", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("left the rows of"), r.stdout)
        let name = try dumpName(t)
        let text = try String(contentsOfFile: t.path + "/var/backups/" + name, encoding: .utf8)
        let header = DumpFilterRecord.find(inHead: Array(text.utf8.prefix(65536)))
        let stripped = try XCTUnwrap(header?.stripped)
        XCTAssertEqual(Set(stripped), ["pfx_customer_entity", "pfx_customer_address_entity", "pfx_sales_order", "pfx_sales_order_item",
                                       "pfx_quote", "pfx_report_event", "pfx_report_viewed_product_index", "pfx_session",
                                       "pfx_catalog_product_index_price_cl", "pfx_admin_user"])
        XCTAssertEqual(header?.strip, ["@development"])
        XCTAssertTrue(text.contains("CREATE TABLE `pfx_customer_entity`"))
        XCTAssertFalse(text.contains("INSERT INTO `pfx_customer_entity`"))
        XCTAssertFalse(text.contains("secret"), "a session's data is in the stripped dump")
        XCTAssertTrue(text.contains("INSERT INTO `pfx_catalog_product_entity`"))
        XCTAssertTrue(text.contains("INSERT INTO `other_app_log`"))
        XCTAssertTrue(text.contains("TRIGGER `pfx_report_event_ai`") || text.contains("TRIGGER pfx_report_event_ai"))

        let list = try fastbackup(["info:backups:list", "--root", t.path])
        XCTAssertTrue(list.stdout.contains("db (stripped)"), list.stdout)
        let json = try fastbackup(["info:backups:list", "--json", "--root", t.path])
        XCTAssertTrue(json.stdout.contains("\"filter\"") && json.stdout.contains("pfx_sales_order"), json.stdout)

        let refused = try fastbackup(["setup:rollback", "-n", "-d", name, "--root", t.path])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--allow-stripped"), refused.stderr)
        XCTAssertEqual(try rows(s, db, "pfx_sales_order"), 30, "a refused rollback changed the database")
        let declined = try fastbackup(["setup:rollback", "-d", name, "--root", t.path], input: "n\n")
        XCTAssertEqual(declined.status, 1)
        XCTAssertTrue(declined.stdout.contains("Restore it anyway?"), declined.stdout)
        XCTAssertEqual(try rows(s, db, "pfx_sales_order"), 30)

        let done = try fastbackup(["setup:rollback", "-n", "--allow-stripped", "-d", name, "--root", t.path])
        XCTAssertEqual(done.status, 0, done.stderr)
        XCTAssertEqual(try rows(s, db, "pfx_sales_order"), 0)
        XCTAssertEqual(try rows(s, db, "pfx_customer_entity"), 0)
        XCTAssertEqual(try rows(s, db, "pfx_catalog_product_entity"), 50)
        XCTAssertEqual(try rows(s, db, "other_app_log"), 3)
        XCTAssertEqual(try rows(s, db, "pfx_sales_view"), 0)
    }

    /// `--exclude-tables` leaves tables out whole (and their triggers), `--include-tables` keeps
    /// only what it names and wins over an exclusion of the same table, wildcards take the
    /// prefix, and a stripped table that is excluded is left out.
    func testIncludeAndExcludeWithWildcards() throws {
        let s = try DatabaseCommandTests.server()
        let (db, t) = try makeStore(s)
        defer { _ = try? s.sql("DROP DATABASE IF EXISTS \(db)") }
        var r = try fastbackup(["setup:backup", "--db", "--exclude-tables", "report_* session", "--strip", "@log",
                                "--no-maintenance", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        var text = try String(contentsOfFile: t.path + "/var/backups/" + dumpName(t), encoding: .utf8)
        XCTAssertFalse(text.contains("CREATE TABLE `pfx_report_event`"))
        XCTAssertFalse(text.contains("CREATE TABLE `pfx_session`"))
        XCTAssertFalse(text.contains("pfx_report_event_ai"), "the trigger of a table left out is in the dump")
        XCTAssertTrue(text.contains("INSERT INTO `pfx_sales_order`"))
        let header = try XCTUnwrap(DumpFilterRecord.find(inHead: Array(text.utf8.prefix(65536))))
        XCTAssertEqual(Set(header.excluded), ["pfx_report_event", "pfx_report_viewed_product_index", "pfx_session"])
        XCTAssertEqual(header.stripped, [], "@log's tables were all excluded")
        try FileManager.default.removeItem(atPath: t.path + "/var/backups/" + dumpName(t))

        r = try fastbackup(["setup:backup", "--db", "--include-tables", "catalog_* admin_user", "--exclude-tables", "admin_*",
                            "--no-maintenance", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        text = try String(contentsOfFile: t.path + "/var/backups/" + dumpName(t), encoding: .utf8)
        let tables = Set(text.split(separator: "\n").filter { $0.hasPrefix("CREATE TABLE `") }.map { $0.split(separator: "`")[1] })
        XCTAssertEqual(tables, ["pfx_catalog_product_entity", "pfx_catalog_product_index_price_cl", "pfx_admin_user"])
    }

    /// An unknown group is refused before anything connects or is written; --strip without --db too.
    func testUnknownGroupAndMisuse() throws {
        let t = try TempTree("stripusage")
        var r = try fastbackup(["setup:backup", "--db", "--strip", "@nosuch", "--no-maintenance", "--root", t.path])
        XCTAssertNotEqual(r.status, 0)
        r = try fastbackup(["setup:backup", "--media", "--strip", "@log", "--no-maintenance", "--root", t.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("go with --db"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/var/backups"))
    }

    /// The group rules without a server: recursion, a cycle-free expansion of @development,
    /// `?` and `*`, literal `_`, the prefix, and names that do not exist left out.
    func testGroupExpansionRules() throws {
        let tables = ["pfx_sales_order", "pfx_sales_order_item", "pfx_salesXorder", "pfx_quote", "pfx_quote_item",
                      "pfx_log_url", "pfx_a_cl", "pfx_b_idx", "sales_order", "pfx_session"]
        let sel = TableSelection(prefix: "pfx_")
        XCTAssertEqual(try sel.expand(["sales_order"], tables: tables, visited: []), ["pfx_sales_order"])
        XCTAssertEqual(try sel.expand(["sales_order*"], tables: tables, visited: []), ["pfx_sales_order", "pfx_sales_order_item"])
        XCTAssertEqual(try sel.expand(["quote_?tem"], tables: tables, visited: []), ["pfx_quote_item"])
        XCTAssertEqual(try sel.expand(["@ee_changelog"], tables: tables, visited: []), ["pfx_a_cl"])
        XCTAssertEqual(try sel.expand(["no_such_table"], tables: tables, visited: []), [])
        let dev = try sel.expand(["@development"], tables: tables, visited: [])
        XCTAssertTrue(dev.isSuperset(of: ["pfx_sales_order", "pfx_quote", "pfx_log_url", "pfx_a_cl", "pfx_session"]))
        XCTAssertFalse(dev.contains("sales_order"), "a table without the prefix matched a group")
        XCTAssertThrowsError(try TableSelection(strip: ["@nosuch"]).validate())
        for group in TableGroups.all {
            for token in group.tables where token.hasPrefix("@") {
                XCTAssertNotNil(TableGroups.named(String(token.dropFirst())), "@\(group.id) names \(token)")
            }
        }
    }

    /// db:groups lists every group, and with a database the tables each names there.
    func testGroupsCommand() throws {
        let s = try DatabaseCommandTests.server()
        let (db, t) = try makeStore(s)
        defer { _ = try? s.sql("DROP DATABASE IF EXISTS \(db)") }
        let r = try fastbackup(["db:groups", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        for group in TableGroups.all { XCTAssertTrue(r.stdout.contains("@\(group.id) "), group.id) }
        let lines = r.stdout.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let at = try XCTUnwrap(lines.firstIndex { $0.hasPrefix("@sessions ") }, r.stdout)
        XCTAssertEqual(lines[at + 2], "here: 1 tables: pfx_session")
    }
}
