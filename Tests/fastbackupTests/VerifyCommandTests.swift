import Foundation
import TestSupport
import XCTest
@testable import fastbackup

/// `info:backups:verify` and `setup:backup --verify`: whole backups pass, and damage (a flipped
/// byte inside a member, a cut-off archive, a dump without its end) is found and named.
final class VerifyCommandTests: XCTestCase {
    private func backup(_ t: TempTree, _ kind: String, _ extra: [String] = []) throws -> String {
        try takeBackup(t, kind, extra)
    }

    /// A store whose media archive has several members (1 MiB chunks, 3 MB of noise).
    private func store() throws -> TempTree {
        let t = try makeSmallStore()
        try sh("head -c 3000000 /dev/urandom > '\(t.path)/pub/media/noise.bin'")
        return t
    }

    func testWholeBackupsPass() throws {
        let t = try store()
        let media = try backup(t, "media", ["--chunk-size", "1"])
        let code = try backup(t, "code")
        let r = try fastbackup(["info:backups:verify", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("\((media as NSString).lastPathComponent): OK ("), r.stdout)
        XCTAssertTrue(r.stdout.contains("\((code as NSString).lastPathComponent): OK ("), r.stdout)
        let json = try fastbackup(["info:backups:verify", (media as NSString).lastPathComponent, "--json", "--root", t.path])
        XCTAssertEqual(json.status, 0, json.stderr)
        let parsed = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        XCTAssertEqual(parsed.count, 1)
        XCTAssertEqual(parsed.first?["ok"] as? Bool, true)
        // Every file of the tree is an entry (folders too): at least the 7 files of the store.
        XCTAssertGreaterThanOrEqual(parsed.first?["entries"] as? Int ?? 0, 7)
    }

    /// One byte flipped inside the second member: refused, naming the member's offset and the
    /// entry before it; the other backups still pass and the exit status is 1.
    func testFlippedByteIsFoundAndNamed() throws {
        let t = try store()
        let media = try backup(t, "media", ["--chunk-size", "1"])
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: media)[.size] as? Int)
        // 1.5 MiB in: inside the second of the ~4 members, in its deflate data.
        let at = min(size - 100, (3 << 20) / 2)
        try sh("printf '\\\\x55' | dd of='\(media)' bs=1 seek=\(at) conv=notrunc status=none && printf '\\\\xaa' | dd of='\(media)' bs=1 seek=\(at + 1) conv=notrunc status=none")
        let r = try fastbackup(["info:backups:verify", "--root", t.path])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stdout.contains("\((media as NSString).lastPathComponent): DAMAGED: "), r.stdout)
        XCTAssertTrue(r.stdout.contains("offset"), r.stdout)
        XCTAssertTrue(r.stdout.contains("after the entry") || r.stdout.contains("before the first entry"), r.stdout)
    }

    func testCutOffArchiveAndDumpAreFound() throws {
        let t = try store()
        let media = try backup(t, "media", ["--chunk-size", "1"])
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: media)[.size] as? Int)
        try sh("truncate -s \(size * 2 / 3) '\(media)'")
        // A dump as fastbackup writes one, and the same cut short.
        let whole = "-- fastbackup dump\nCREATE TABLE t (a int);\nINSERT INTO t VALUES (1),(2);\n\n-- Dump completed\n"
        try t.file("var/backups/1700000001_db.sql", whole)
        try t.file("var/backups/1700000002_db.sql", String(whole.prefix(whole.count - 20)))
        let r = try fastbackup(["info:backups:verify", "--root", t.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("\((media as NSString).lastPathComponent): DAMAGED: "), r.stdout)
        XCTAssertTrue(r.stdout.contains("1700000001_db.sql: OK (2 statements"), r.stdout)
        XCTAssertTrue(r.stdout.contains("1700000002_db.sql: DAMAGED: the dump does not end with its completion line"), r.stdout)
    }

    /// `setup:backup --verify` reads what it wrote and says so.
    func testBackupWithVerify() throws {
        let t = try store()
        let r = try fastbackup(["setup:backup", "--media", "--code", "--verify", "--no-maintenance", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Media backup verified: "), r.stdout)
        XCTAssertTrue(r.stdout.contains("Code backup verified: "), r.stdout)
    }

    func testUnknownNameIsAnError() throws {
        let t = try store()
        _ = try backup(t, "media")
        let r = try fastbackup(["info:backups:verify", "1_filesystem_media.tgz", "--root", t.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("1_filesystem_media.tgz: no such backup"), r.stderr)
    }
}
