import Foundation
import XCTest
import TestSupport

/// A DB restore that did not finish (an error, or SIGKILL) leaves the database partly restored:
/// maintenance mode must stay on until a restore completes, whichever run would turn it off,
/// and `setup:backup --db` must not dump it. Against the private MariaDB server; dumps are
/// written by the tests (a broken statement) or by `setup:backup --db` of a seeded table.
final class DatabaseRestoreMarkerTests: XCTestCase {
    private let flag = "/var/.maintenance.flag"
    private let marker = "/var/.fastbackup-db-restore"

    func testFailedRestoreKeepsMaintenanceOnUntilARestoreCompletes() throws {
        let s = try DatabaseCommandTests.server()
        let db = "fbmark_\(UInt32.random(in: 0...UInt32.max))"
        try s.sql("CREATE DATABASE \(db)")
        defer { _ = try? s.sql("DROP DATABASE IF EXISTS \(db)") }
        try s.sql("CREATE TABLE a (id INT PRIMARY KEY); INSERT INTO a VALUES (1), (2);", database: db)
        let t = try DatabaseCommandTests.store(database: db, server: s)
        let good = (try takeBackup(t, "db") as NSString).lastPathComponent
        let want = try s.checksums(db)
        try t.file("var/backups/1700000000_db.sql", "DROP TABLE IF EXISTS a;\nCREATE TABLE a (id INT);\nINSERT INTO a VALUES (1);\nINSERT INTO a VALUES (2;\n")
        let failed = try fastbackup(["setup:rollback", "-n", "-d", "1700000000_db.sql", "--root", t.path])
        XCTAssertEqual(failed.status, 1)
        XCTAssertTrue(failed.stderr.contains("Maintenance mode stays on"), failed.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: t.path + flag), "a partly restored database went back on line")
        let dump = try fastbackup(["setup:backup", "--db", "--root", t.path])
        XCTAssertEqual(dump.status, 1)
        XCTAssertTrue(dump.stderr.contains("partly restored"), dump.stderr)
        let restored = try fastbackup(["setup:rollback", "-n", "-d", good, "--root", t.path])
        XCTAssertEqual(restored.status, 0, restored.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + flag))
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + marker))
        XCTAssertEqual(try s.checksums(db), want)
    }

    /// SIGKILL while the rows stream in (the marker is there): the next cron backup takes over
    /// the stale flag but leaves it on; the next completed restore turns it off.
    func testKilledRestoreStaysInMaintenanceThroughTheNextBackup() throws {
        let s = try DatabaseCommandTests.server()
        let db = "fbkill_\(UInt32.random(in: 0...UInt32.max))"
        try s.sql("CREATE DATABASE \(db)")
        defer { _ = try? s.sql("DROP DATABASE IF EXISTS \(db)") }
        try s.sql("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(200), KEY kv (v)); INSERT INTO t SELECT seq, REPEAT(CONCAT('row ', seq), 8) FROM seq_1_to_300000;", database: db)
        let t = try DatabaseCommandTests.store(database: db, server: s)
        let good = (try takeBackup(t, "db") as NSString).lastPathComponent
        let want = try s.checksums(db)
        try s.sql("DELETE FROM t WHERE id > 1000", database: db)
        // Killed once the marker says the restore has begun, and the rows have started.
        let killed = try sh("""
            '\(fastbackupBinary)' setup:rollback -n -d \(good) --root '\(t.path)' >/dev/null 2>&1 & pid=$!
            for i in $(seq 1 500); do [ -f '\(t.path)\(marker)' ] && break; sleep 0.01; done
            sleep 0.3; kill -9 $pid; wait $pid; echo "exit $?"
            """)
        XCTAssertEqual(killed.trimmingCharacters(in: .whitespacesAndNewlines), "exit 137", "the restore finished before the kill")
        XCTAssertTrue(FileManager.default.fileExists(atPath: t.path + marker))
        let cron = try fastbackup(["setup:backup", "--code", "--root", t.path])
        XCTAssertEqual(cron.status, 0, cron.stderr)
        XCTAssertTrue(cron.stderr.contains("Maintenance mode stays on"), cron.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: t.path + flag), "the next backup brought a partly restored store back on line")
        let restored = try fastbackup(["setup:rollback", "-n", "-d", good, "--root", t.path])
        XCTAssertEqual(restored.status, 0, restored.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + flag))
        XCTAssertEqual(try s.checksums(db), want)
    }
}
