import Foundation
import XCTest
@testable import DBStream
import TestSupport

/// A writer moves amounts between rows of two tables, each move in one
/// transaction, all through the dump. Whatever moment the snapshot is taken,
/// the dumped balances must add up to the same total.
final class ConsistencyTests: XCTestCase {
    func testConcurrentTransfersKeepTheSum() throws {
        let server = try TestServer.fromEnvironment()
        let db = try server.createDatabase("consist")
        defer { db.drop() }
        let c = try server.admin(db.name)
        // Padding rows make each table take a while to read, so the dump overlaps the writer.
        try c.execute("CREATE TABLE a_accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL, pad VARCHAR(100)) ENGINE=InnoDB")
        try c.execute("CREATE TABLE b_accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL, pad VARCHAR(100)) ENGINE=InnoDB")
        try c.execute("INSERT INTO a_accounts VALUES (1, 1000, ''), (2, 1000, '')")
        try c.execute("INSERT INTO b_accounts VALUES (1, 1000, '')")
        try c.execute("INSERT INTO a_accounts SELECT seq + 10, 0, REPEAT('p', 100) FROM seq_1_to_120000")
        try c.execute("INSERT INTO b_accounts SELECT seq + 10, 0, REPEAT('q', 100) FROM seq_1_to_80000")

        let stop = Atomic()
        let commits = Atomic()
        let writerError = Atomic()
        let writer = Thread {
            do {
                let w = try server.admin(db.name)
                var rng = SeededRandom(seed: 42)
                let rows = ["a_accounts WHERE id = 1", "a_accounts WHERE id = 2", "b_accounts WHERE id = 1"]
                while stop.value == 0 {
                    let from = Int(rng.next() % 3), to = (from + 1 + Int(rng.next() % 2)) % 3
                    let amount = Int(rng.next() % 50) + 1
                    try w.execute("START TRANSACTION")
                    try w.execute("UPDATE \(rows[from].replacingOccurrences(of: " WHERE", with: " SET balance = balance - \(amount) WHERE"))")
                    try w.execute("UPDATE \(rows[to].replacingOccurrences(of: " WHERE", with: " SET balance = balance + \(amount) WHERE"))")
                    try w.execute("COMMIT")
                    commits.add(1)
                    usleep(300)   // leave CPU for the dump on a small machine; still hundreds of commits a second
                }
            } catch {
                writerError.add(1)
            }
            stop.add(2)
        }
        writer.start()
        defer { if stop.value == 0 { stop.add(1) }; while stop.value < 2 { usleep(1000) } }
        while commits.value < 50 { usleep(1000) }

        for threads in [2, 1] {
            // On a loaded machine the writer may get no turn during one dump: dump again (at
            // most 5 times) until it did, as the check below means nothing otherwise.
            var attempt = 0, during = 0
            var dumped: (path: String, stats: DumpStats)?
            repeat {
                if let d = dumped { try? FileManager.default.removeItem(atPath: d.path) }
                let before = commits.value
                dumped = try server.dump(db.name, options: DumpOptions(threads: threads))
                during = commits.value - before
                attempt += 1
            } while during <= 10 && attempt < 5
            let (path, stats) = dumped!
            defer { try? FileManager.default.removeItem(atPath: path) }
            XCTAssertGreaterThan(during, 10, "the writer committed while the dump ran (\(attempt) attempts)")
            if threads == 2 {
                XCTAssertEqual(stats.connections, 2)
                XCTAssertNotEqual(stats.snapshot, .single)
            }
            let copy = try server.createDatabase("consist_copy")
            defer { copy.drop() }
            try server.client(copy.name, input: path)
            let r = try server.admin(copy.name)
            let sum = try r.scalar("SELECT (SELECT SUM(balance) FROM a_accounts) + (SELECT SUM(balance) FROM b_accounts)")
            XCTAssertEqual(sum, "3000", "threads \(threads), \(during) commits during the dump")
            XCTAssertEqual(try r.scalar("SELECT COUNT(*) FROM a_accounts"), "120002")
        }
        stop.add(1)
        while stop.value < 3 { usleep(1000) }
        XCTAssertEqual(writerError.value, 0)
    }
}

/// A counter shared between test threads.
final class Atomic: @unchecked Sendable {
    private let lock = NSLock()
    private var v = 0
    var value: Int { lock.lock(); defer { lock.unlock() }; return v }
    func add(_ n: Int) { lock.lock(); v += n; lock.unlock() }
}
