import Foundation
import ObjectStore
import TestSupport
import XCTest
@testable import fastbackup

/// `--keep N`, `--keep-local`, and encryption at rest (`--sse-c-key-file`, `--sse`), against
/// the real object store the test script starts (skipped, saying so, without one); the local
/// retention cases need none.
final class OffsiteKeepTests: XCTestCase {
    private var environment: [String: String] = [:]
    private var settings: S3Settings?

    override func setUp() {
        let env = ProcessInfo.processInfo.environment
        if let endpoint = env["FASTBACKUP_TEST_S3_ENDPOINT"], let key = env["AWS_ACCESS_KEY_ID"],
           let secret = env["AWS_SECRET_ACCESS_KEY"] {
            environment = ["AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "default"]
            settings = S3Settings(accessKey: key, secretKey: secret, region: "default", endpoint: endpoint)
        }
    }

    private func store() throws -> S3Settings {
        guard let settings else {
            throw XCTSkip("no object store: FASTBACKUP_TEST_S3_ENDPOINT is not set (scripts/test.sh starts one with scripts/ceph-rgw.sh)")
        }
        return settings
    }

    private func bucket() throws -> String {
        let name = "fbk-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try S3Client(settings: try store()).createBucket(name)
        return name
    }

    private func run(_ args: [String], _ extra: [String: String] = [:]) throws -> RunResult {
        try fastbackup(args, environment: environment.merging(extra) { $1 })
    }

    private func line(_ r: RunResult, _ prefix: String) -> String? {
        r.stdout.split(separator: "\n").first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
    }

    // MARK: - Retention

    /// The rule alone: N in all, the one just written among them whatever its timestamp.
    func testSurplusKeepsTheOneJustWrittenAndTheNewestOthers() {
        let names = ["100_filesystem_media.tgz", "300_filesystem_media.tgz", "200_filesystem_media.tar.zst",
                     "250_filesystem_code.tgz", "260_db.sql", "notes.txt"]
        let keep2 = BackupRetention(keep: 2)
        XCTAssertEqual(keep2.surplus(names + ["400_filesystem_media.tgz"], kind: .media, written: "400_filesystem_media.tgz"),
                       ["100_filesystem_media.tgz", "200_filesystem_media.tar.zst"])
        // A clock set back: the new backup is the oldest by name, and still stays.
        XCTAssertEqual(keep2.surplus(names + ["50_filesystem_media.tgz"], kind: .media, written: "50_filesystem_media.tgz"),
                       ["100_filesystem_media.tgz", "200_filesystem_media.tar.zst"])
        XCTAssertEqual(BackupRetention(keep: 1).surplus(names, kind: .db, written: "260_db.sql"), [])
        XCTAssertEqual(BackupRetention(keep: 5).surplus(names, kind: .media, written: "300_filesystem_media.tgz"), [])
    }

    /// In var/backups: the oldest media backups go, other kinds and other files stay, and the
    /// run says what it removed.
    func testKeepRemovesTheOldestLocalBackupsOfTheKind() throws {
        let t = try makeSmallStore()
        for name in ["1000_filesystem_media.tgz", "2000_filesystem_media.tgz", "1500_filesystem_code.tgz", "1200_db.sql", "keep-me.txt"] {
            try t.file("var/backups/" + name, "old")
        }
        let r = try fastbackup(["setup:backup", "--media", "--keep", "2", "--no-maintenance", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let written = try XCTUnwrap(line(r, "Media backup filename: ").map { String($0.prefix { $0 != " " }) })
        XCTAssertTrue(r.stdout.contains("Removed the old backup \(t.path)/var/backups/1000_filesystem_media.tgz (--keep 2)."), r.stdout)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups")),
                       ["2000_filesystem_media.tgz", written, "1500_filesystem_code.tgz", "1200_db.sql", "keep-me.txt"])
        let zero = try fastbackup(["setup:backup", "--media", "--keep", "0", "--no-maintenance", "--root", t.path])
        XCTAssertEqual(zero.status, 1)
        XCTAssertTrue(zero.stderr.contains("--keep"), zero.stderr)
    }

    /// A failed backup removes nothing: a dump whose server cannot be reached leaves the old
    /// dumps as they were.
    func testFailedBackupRemovesNothing() throws {
        let t = try makeSmallStore()
        try t.file("app/etc/env.php", "<?php return ['db' => ['connection' => ['default' => ['host' => 'localhost', 'dbname' => 'shop', 'username' => 'shop', 'password' => 'x']]]];\n")
        try t.file("var/backups/1000_db.sql", "old")
        let r = try fastbackup(["setup:backup", "--db", "--db-host", "127.0.0.1:1", "--keep", "1", "--no-maintenance", "--root", t.path])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups"), ["1000_db.sql"])
    }

    /// In the bucket: objects of the kind under the prefix beyond N go; other kinds, deeper
    /// keys and other prefixes stay.
    func testKeepRemovesTheOldestObjectsOfTheKind() throws {
        let t = try makeSmallStore()
        let bucket = try bucket()
        let client = try S3Client(settings: try store())
        for key in ["shop/1000_filesystem_media.tgz", "shop/2000_filesystem_media.tgz", "shop/1500_filesystem_code.tgz",
                    "shop/old/1100_filesystem_media.tgz", "other/1200_filesystem_media.tgz"] {
            try Array("old".utf8).withUnsafeBytes { try client.put(bucket, key, body: $0) }
        }
        let r = try run(["setup:backup", "--media", "--keep", "1", "--no-maintenance", "--target", "s3://\(bucket)/shop", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let url = try XCTUnwrap(line(r, "Media backup path: "))
        XCTAssertTrue(r.stdout.contains("Removed the old backup s3://\(bucket)/shop/1000_filesystem_media.tgz (--keep 1)."), r.stdout)
        XCTAssertTrue(r.stdout.contains("Removed the old backup s3://\(bucket)/shop/2000_filesystem_media.tgz (--keep 1)."), r.stdout)
        XCTAssertEqual(Set(try client.list(bucket, prefix: "").map(\.key)),
                       [String(url.dropFirst("s3://\(bucket)/".count)), "shop/1500_filesystem_code.tgz",
                        "shop/old/1100_filesystem_media.tgz", "other/1200_filesystem_media.tgz"])
    }

    // MARK: - --keep-local

    /// One run, two backups: the object and the local file hold the same bytes, both are
    /// listed, and the local copy rolls back on its own.
    func testKeepLocalWritesTheSameArchiveToBothPlaces() throws {
        let t = try makeSmallStore()
        try sh("head -c 3000000 /dev/urandom > '\(t.path)/pub/media/big.bin'")
        let bucket = try bucket()
        let media = try manifest(t.path + "/pub/media")
        let r = try run(["setup:backup", "--media", "--keep-local", "--no-maintenance", "--target", "s3://\(bucket)/shop", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let url = try XCTUnwrap(line(r, "Media backup path: "), r.stdout)
        let local = try XCTUnwrap(line(r, "Media backup local copy: "), r.stdout)
        XCTAssertEqual((url as NSString).lastPathComponent, (local as NSString).lastPathComponent)
        var remote = [UInt8]()
        let client = try S3Client(settings: try store())
        let size = try XCTUnwrap(try client.head(bucket, String(url.dropFirst("s3://\(bucket)/".count)))).size
        try client.get(bucket, String(url.dropFirst("s3://\(bucket)/".count)), range: 0..<size) { remote += $0; return true }
        XCTAssertEqual(remote, [UInt8](try Data(contentsOf: URL(fileURLWithPath: local))))
        XCTAssertEqual(try client.pendingUploads(bucket, prefix: ""), [])
        // The object verifies through the store, by ranged downloads.
        let verified = try run(["info:backups:verify", "--target", "s3://\(bucket)/shop"])
        XCTAssertEqual(verified.status, 0, verified.stdout + verified.stderr)
        XCTAssertTrue(verified.stdout.contains("\((url as NSString).lastPathComponent): OK ("), verified.stdout)
        try sh("rm -rf '\(t.path)/pub/media/catalog'")
        let back = try fastbackup(["setup:rollback", "-n", "--no-maintenance", "-m", (local as NSString).lastPathComponent, "--root", t.path])
        XCTAssertEqual(back.status, 0, back.stderr)
        XCTAssertEqual(try manifest(t.path + "/pub/media"), media)
    }

    /// The local copy's disk fills: neither copy is left (no object, no unfinished upload, no
    /// file), and the error names the local file.
    func testKeepLocalOnAFullDiskLeavesNeitherCopy() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to mount a tmpfs") }
        let t = try makeSmallStore()
        try sh("head -c 4000000 /dev/urandom > '\(t.path)/pub/media/big.bin'")
        let bucket = try bucket()
        let backups = t.path + "/var/backups"
        try sh("mount -t tmpfs -o size=1m tmpfs '\(backups)'")
        defer { _ = try? runProcess(["/bin/umount", "-l", backups]) }
        let r = try run(["setup:backup", "--media", "--keep-local", "--skip-space-check", "--no-maintenance",
                         "--target", "s3://\(bucket)/shop", "--root", t.path])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stderr.contains("No space left on device"), r.stderr)
        let client = try S3Client(settings: try store())
        XCTAssertEqual(try client.list(bucket, prefix: ""), [])
        XCTAssertEqual(try client.pendingUploads(bucket, prefix: ""), [])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: backups), [])
    }

    // MARK: - Encryption at rest

    /// SSE-C: the object cannot be read without the key; a rollback without it, or with
    /// another, fails clearly and leaves the live media; with it, the media comes back.
    func testCustomerKeyIsNeededToReadTheBackup() throws {
        let t = try makeSmallStore()
        try sh("head -c 3000000 /dev/urandom > '\(t.path)/pub/media/big.bin'")
        let bucket = try bucket()
        let keys = try TemporaryFolder("sse-keys")
        try sh("head -c 32 /dev/urandom > '\(keys.path)/raw.key' && openssl rand -base64 32 > '\(keys.path)/other.key'")
        let media = try manifest(t.path + "/pub/media")
        let b = try run(["setup:backup", "--media", "--no-maintenance", "--sse-c-key-file", keys.path + "/raw.key",
                         "--target", "s3://\(bucket)/shop", "--root", t.path])
        XCTAssertEqual(b.status, 0, b.stderr)
        let url = try XCTUnwrap(line(b, "Media backup path: "))
        let key = String(url.dropFirst("s3://\(bucket)/".count))
        XCTAssertThrowsError(try S3Client(settings: try store()).get(bucket, key, range: 0..<100) { _ in true },
                             "an SSE-C object was readable without its key")

        try sh("echo live > '\(t.path)/pub/media/live.txt'")
        let live = try manifest(t.path + "/pub/media")
        for wrong in [[String](), ["--sse-c-key-file", keys.path + "/other.key"]] {
            let r = try run(["setup:rollback", "-n", "--no-maintenance", "-m", url, "--root", t.path] + wrong)
            XCTAssertEqual(r.status, 1, r.stdout)
            XCTAssertTrue(r.stderr.contains("SSE-C"), r.stderr)
            XCTAssertEqual(try manifest(t.path + "/pub/media"), live)
        }
        let listed = try run(["info:backups:list", "--target", "s3://\(bucket)/shop"])
        XCTAssertTrue(listed.stdout.contains((url as NSString).lastPathComponent), listed.stdout)
        let r = try run(["setup:rollback", "-n", "--no-maintenance", "-m", url, "--sse-c-key-file", keys.path + "/raw.key", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try manifest(t.path + "/pub/media"), media)
    }

    /// `--sse` where the store does not confirm the encryption (RGW 16 without a key backend
    /// takes the header and stores the object in the clear): refused, nothing left behind.
    /// Where the store confirms it, the backup is written and reads back without a key.
    func testStoreManagedEncryptionIsConfirmedOrRefused() throws {
        let t = try makeSmallStore()
        let bucket = try bucket()
        let r = try run(["setup:backup", "--media", "--sse", "--no-maintenance", "--target", "s3://\(bucket)/shop", "--root", t.path])
        let client = try S3Client(settings: try store())
        XCTAssertEqual(try client.pendingUploads(bucket, prefix: ""), [])
        if r.status == 0 {
            let url = try XCTUnwrap(line(r, "Media backup path: "))
            XCTAssertNotNil(try client.head(bucket, String(url.dropFirst("s3://\(bucket)/".count))))
        } else {
            XCTAssertEqual(r.status, 1)
            XCTAssertTrue(r.stderr.contains("did not confirm server-side encryption"), r.stderr)
            XCTAssertEqual(try client.list(bucket, prefix: ""), [])
        }
        let both = try run(["setup:backup", "--media", "--sse", "--sse-c-key-file", "/dev/null", "--no-maintenance",
                            "--target", "s3://\(bucket)/shop", "--root", t.path])
        XCTAssertEqual(both.status, 1)
        XCTAssertTrue(both.stderr.contains("exclude each other"), both.stderr)
    }

    /// A key file that is not a 256-bit key is refused before anything starts.
    func testMalformedKeyFileIsRefused() throws {
        let t = try makeSmallStore()
        let bucket = try bucket()
        try t.file("short.key", "0123456789abcdef")
        let r = try run(["setup:backup", "--media", "--no-maintenance", "--sse-c-key-file", t.path + "/short.key",
                         "--target", "s3://\(bucket)/shop", "--root", t.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("must hold a 256-bit key"), r.stderr)
        XCTAssertEqual(try S3Client(settings: try store()).pendingUploads(bucket, prefix: ""), [])
    }
}
