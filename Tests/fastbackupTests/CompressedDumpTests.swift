import Foundation
import XCTest
import TestSupport

/// `setup:backup --db --compression gzip|zstd`: `<ts>_db.sql.gz` / `.sql.zst`, compressed as the
/// rows stream; listed as db, verified, restored by `setup:rollback -d`, and loaded by
/// `gzip -dc | mariadb` and `zstd -dc | mariadb` as any dump. Against the private MariaDB server.
final class CompressedDumpTests: XCTestCase {
    func testCompressedDumpsRoundTripAndLoadWithTheClient() throws {
        let s = try DatabaseCommandTests.server()
        let db = "fbgz_\(UInt32.random(in: 0...UInt32.max))"
        try s.sql("CREATE DATABASE \(db) CHARACTER SET utf8mb4")
        defer { _ = try? s.sql("DROP DATABASE IF EXISTS \(db)") }
        try s.sql("""
        CREATE TABLE t (id INT PRIMARY KEY, sku VARCHAR(64), note TEXT, KEY k_sku (sku));
        INSERT INTO t SELECT seq, CONCAT('SKU-', seq), REPEAT(CONCAT('text ', seq, ' '), 20) FROM seq_1_to_60000;
        """, database: db)
        let before = try s.checksums(db)
        let t = try DatabaseCommandTests.store(database: db, server: s)
        for (codec, ext, tool) in [("gzip", "sql.gz", "gzip"), ("zstd", "sql.zst", "zstd")] {
            let r = try fastbackup(["setup:backup", "--db", "--compression", codec, "--no-maintenance", "--root", t.path])
            XCTAssertEqual(r.status, 0, r.stderr)
            let name = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups").first { $0.hasSuffix("_db.\(ext)") })
            let path = t.path + "/var/backups/" + name
            // Compressed as it streamed: smaller than the text it holds, and several members.
            let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            let plain = Int(try sh("\(tool) -dc '\(path)' | wc -c").trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            XCTAssertLessThan(size * 4, plain, "\(name) is \(size) bytes for \(plain) of SQL")
            let listed = try fastbackup(["info:backups:list", "--json", "--root", t.path])
            XCTAssertTrue(listed.stdout.contains("\"file\" : \"\(name)\"") && listed.stdout.contains("\"type\" : \"db\""), listed.stdout)
            let verified = try fastbackup(["info:backups:verify", name, "--root", t.path])
            XCTAssertEqual(verified.status, 0, verified.stdout)

            try s.sql("UPDATE t SET sku = 'x'; DELETE FROM t WHERE id > 100", database: db)
            let rb = try fastbackup(["setup:rollback", "-n", "-d", name, "--root", t.path])
            XCTAssertEqual(rb.status, 0, rb.stderr)
            XCTAssertEqual(try s.checksums(db), before, "setup:rollback -d \(name)")

            try s.sql("DROP TABLE t", database: db)
            _ = try sh("\(tool) -dc '\(path)' | MYSQL_PWD='\(s.password)' mariadb --no-defaults --socket='\(s.socket)' --user='\(s.user)' \(db)")
            XCTAssertEqual(try s.checksums(db), before, "\(tool) -dc | mariadb")
            try FileManager.default.removeItem(atPath: path)
        }
        // Without --compression the dump stays Magento's plain .sql.
        let r = try fastbackup(["setup:backup", "--db", "--no-maintenance", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups").filter { $0.hasSuffix("_db.sql") }.count, 1)
    }

    /// A compressed dump cut short: verify names it, and the rollback fails instead of
    /// reporting a partial restore as success.
    func testCutCompressedDumpIsRefused() throws {
        let s = try DatabaseCommandTests.server()
        let db = "fbgzcut_\(UInt32.random(in: 0...UInt32.max))"
        try s.sql("CREATE DATABASE \(db)")
        defer { _ = try? s.sql("DROP DATABASE IF EXISTS \(db)") }
        try s.sql("CREATE TABLE t (id INT PRIMARY KEY, v TEXT); INSERT INTO t SELECT seq, REPEAT('v', 300) FROM seq_1_to_20000;", database: db)
        let t = try DatabaseCommandTests.store(database: db, server: s)
        let r = try fastbackup(["setup:backup", "--db", "--compression", "gzip", "--no-maintenance", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let name = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups").first { $0.hasSuffix("_db.sql.gz") })
        let path = t.path + "/var/backups/" + name
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        try sh("truncate -s \(size / 2) '\(path)'")
        let verified = try fastbackup(["info:backups:verify", name, "--root", t.path])
        XCTAssertEqual(verified.status, 1)
        XCTAssertTrue(verified.stdout.contains("\(name): DAMAGED"), verified.stdout)
        let rb = try fastbackup(["setup:rollback", "-n", "-d", name, "--root", t.path])
        XCTAssertEqual(rb.status, 1, rb.stdout)
    }
}
