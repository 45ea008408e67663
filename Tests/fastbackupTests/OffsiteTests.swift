import Foundation
import ObjectStore
import TestSupport
import XCTest
@testable import fastbackup

/// Backups streamed to the real object store the test script starts (one-node Ceph with the
/// RADOS Gateway, scripts/ceph-rgw.sh), listed there and rolled back from there. Skipped,
/// saying so, when FASTBACKUP_TEST_S3_ENDPOINT is not set.
final class OffsiteTests: XCTestCase {
    private var environment: [String: String] = [:]
    private var settings: S3Settings!

    override func setUpWithError() throws {
        let env = ProcessInfo.processInfo.environment
        guard let endpoint = env["FASTBACKUP_TEST_S3_ENDPOINT"], let key = env["AWS_ACCESS_KEY_ID"],
              let secret = env["AWS_SECRET_ACCESS_KEY"] else {
            throw XCTSkip("no object store: FASTBACKUP_TEST_S3_ENDPOINT is not set (scripts/test.sh starts one with scripts/ceph-rgw.sh)")
        }
        environment = ["AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "default"]
        settings = S3Settings(accessKey: key, secretKey: secret, region: "default", endpoint: endpoint)
    }

    private func bucket() throws -> String {
        let name = "fbo-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try S3Client(settings: settings).createBucket(name)
        return name
    }

    private func run(_ args: [String], _ extra: [String: String] = [:]) throws -> RunResult {
        try fastbackup(args, environment: environment.merging(extra) { $1 })
    }

    private func path(_ r: RunResult, _ title: String) -> String? {
        r.stdout.split(separator: "\n").first { $0.hasPrefix("\(title) backup path: ") }.map { String($0.dropFirst("\(title) backup path: ".count)) }
    }

    /// Code, media and the database to the store: nothing in var/backups, both archives listed
    /// (table and JSON), and each rolls back from its URL (or `--target` and its name) to the
    /// tree as it was.
    func testBackupListAndRollBackThroughTheStore() throws {
        let store = try makeSmallStore()
        try sh("head -c 3000000 /dev/urandom > '\(store.path)/pub/media/big.bin'")
        let bucket = try bucket()
        let target = "s3://\(bucket)/shop"
        let media = try manifest(store.path + "/pub/media")
        let code = try manifest(store.path, excluding: ["var", "pub/media", "pub/static"])
        let b = try run(["setup:backup", "--code", "--media", "--target", target, "--root", store.path])
        XCTAssertEqual(b.status, 0, b.stderr)
        let mediaURL = try XCTUnwrap(path(b, "Media"), b.stdout)
        let codeURL = try XCTUnwrap(path(b, "Code"), b.stdout)
        XCTAssertTrue(mediaURL.hasPrefix(target + "/") && mediaURL.hasSuffix("_filesystem_media.tgz"), mediaURL)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: store.path + "/var/backups"), [], "a local copy was left")

        let list = try run(["info:backups:list", "--target", target, "--json"])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertTrue(list.stdout.contains("\"path\" : \"\(mediaURL)\""), list.stdout)
        XCTAssertTrue(list.stdout.contains("\"type\" : \"code\""), list.stdout)
        let table = try run(["info:backups:list", "--target", target])
        XCTAssertTrue(table.stdout.contains("Showing backup files in \(target)."), table.stdout)

        try sh("rm -rf '\(store.path)/pub/media/catalog' && echo changed > '\(store.path)/pub/media/big.bin' && echo changed > '\(store.path)/app/etc/di.xml'")
        let m = try run(["setup:rollback", "-n", "-m", mediaURL, "--root", store.path])
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertEqual(try manifest(store.path + "/pub/media"), media)
        let codeName = (codeURL as NSString).lastPathComponent
        let c = try run(["setup:rollback", "-n", "--target", target, "-c", codeName, "--root", store.path])
        XCTAssertEqual(c.status, 0, c.stderr)
        XCTAssertEqual(try manifest(store.path, excluding: ["var", "pub/media", "pub/static"]), code)
        // The archive in the store is a plain .tgz: GNU tar lists it from a download.
        let client = try S3Client(settings: settings)
        XCTAssertEqual(try client.pendingUploads(bucket, prefix: ""), [])
    }

    /// A backup killed with SIGKILL while uploading leaves an unfinished upload and no object;
    /// the next run says it aborts it, and lists nothing half-written. The killed run is held
    /// at a known point: its upload is begun before the dump connects, and the "database"
    /// (`--db-host`) is a socket that accepts and never answers, so the run waits there.
    func testUploadKilledMidwayIsAbortedByTheNextRun() throws {
        let store = try makeSmallStore()
        try store.file("app/etc/env.php", "<?php return ['db' => ['connection' => ['default' => ['host' => 'localhost', 'dbname' => 'shop', 'username' => 'shop', 'password' => 'x']]]];\n")
        let bucket = try bucket()
        let target = "s3://\(bucket)/shop"
        let silent = try TempTree("silent")
        // A listening socket never accepted from: the kernel completes the client's handshake,
        // and the client then waits for a greeting that never comes.
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(listener, 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && listen(listener, 8) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        XCTAssertTrue(bound)
        let port = UInt16(bigEndian: address.sin_port)
        // Started directly, not through a shell: a shell's background child would hold the
        // test's output pipes open, and reading them would wait for it.
        let backup = Process()
        backup.executableURL = URL(fileURLWithPath: fastbackupBinary)
        backup.arguments = ["setup:backup", "--db", "--db-host", "127.0.0.1:\(port)", "--no-maintenance", "--target", target, "--root", store.path]
        backup.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        backup.standardOutput = FileHandle.nullDevice
        backup.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: silent.path + "/err", isDirectory: false).creatingFile())
        try backup.run()
        let pid = backup.processIdentifier
        let client = try S3Client(settings: settings)
        let deadline = Date().addingTimeInterval(8)
        var pending: [S3Client.PendingUpload] = []
        while pending.isEmpty && Date() < deadline { usleep(50_000); pending = try client.pendingUploads(bucket, prefix: "") }
        kill(pid, SIGKILL)
        backup.waitUntilExit()
        XCTAssertEqual(backup.terminationReason, .uncaughtSignal)
        XCTAssertEqual(pending.count, 1, "the run held at its DB connection had begun no upload: \((try? String(contentsOfFile: silent.path + "/err", encoding: .utf8)) ?? "")")
        XCTAssertEqual(try client.pendingUploads(bucket, prefix: "").count, 1, "SIGKILL left no unfinished upload")
        XCTAssertEqual(try client.list(bucket, prefix: ""), [], "a killed upload became an object")
        let list = try run(["info:backups:list", "--target", target])
        XCTAssertTrue(list.stdout.contains("No backup files found."), list.stdout)
        guard let left = pending.first else { return }

        let next = try run(["setup:backup", "--media", "--target", target, "--root", store.path])
        XCTAssertEqual(next.status, 0, next.stderr)
        XCTAssertTrue(next.stdout.contains("Aborted the unfinished upload of \(target)/\(left.key.dropFirst("shop/".count))"), next.stdout)
        XCTAssertEqual(try client.pendingUploads(bucket, prefix: ""), [])
        XCTAssertEqual(try client.list(bucket, prefix: "").count, 1)
    }

    /// The settings as an admin gives them for a store behind https with a private CA and
    /// virtual-hosted buckets: AWS_ENDPOINT_URL, AWS_CA_BUNDLE and `addressing_style` in
    /// ~/.aws/config. A backup and its rollback go through them.
    func testHTTPSWithAPrivateCAAndVirtualHostedBuckets() throws {
        let env = ProcessInfo.processInfo.environment
        guard let https = env["FASTBACKUP_TEST_S3_TLS_ENDPOINT"], let ca = env["FASTBACKUP_TEST_S3_CA_BUNDLE"] else {
            throw XCTSkip("no https object store: FASTBACKUP_TEST_S3_TLS_ENDPOINT is not set (scripts/test.sh sets it)")
        }
        let store = try makeSmallStore()
        let bucket = try bucket()
        try store.file("aws-config", "[default]\ns3 =\n    addressing_style = virtual\n")
        let tls = ["AWS_ENDPOINT_URL": https, "AWS_CA_BUNDLE": ca, "AWS_CONFIG_FILE": store.path + "/aws-config"]
        let media = try manifest(store.path + "/pub/media")
        let b = try run(["setup:backup", "--media", "--no-maintenance", "--target", "s3://\(bucket)/shop", "--root", store.path], tls)
        XCTAssertEqual(b.status, 0, b.stderr)
        let url = try XCTUnwrap(path(b, "Media"))
        try sh("rm -rf '\(store.path)/pub/media/catalog'")
        let r = try run(["setup:rollback", "-n", "--no-maintenance", "-m", url, "--root", store.path], tls)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try manifest(store.path + "/pub/media"), media)
        // The system's CA store does not know the private CA: refused at once, saying where it goes.
        let untrusted = try run(["info:backups:list", "--target", "s3://\(bucket)/shop"], ["AWS_ENDPOINT_URL": https, "AWS_CA_BUNDLE": ""])
        XCTAssertEqual(untrusted.status, 1)
        XCTAssertTrue(untrusted.stderr.contains("certificate is not trusted"), untrusted.stderr)
    }

    /// Wrong credentials fail before maintenance mode goes on, with the variable to fix
    /// named; nothing is left in the bucket.
    func testWrongSecretFailsClearlyAndLeavesNothing() throws {
        let store = try makeSmallStore()
        let bucket = try bucket()
        let r = try run(["setup:backup", "--media", "--target", "s3://\(bucket)/shop", "--root", store.path],
                        ["AWS_SECRET_ACCESS_KEY": "wrong"])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stderr.contains("AWS_SECRET_ACCESS_KEY"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.path + "/var/.maintenance.flag"))
        let client = try S3Client(settings: settings)
        XCTAssertEqual(try client.list(bucket, prefix: ""), [])
        XCTAssertEqual(try client.pendingUploads(bucket, prefix: ""), [])
    }

    /// A missing object is Magento's "doesn't exist"; a damaged one (the first half of a real
    /// archive) fails the rollback with the live tree untouched.
    func testMissingAndTruncatedObjectsLeaveTheStoreUntouched() throws {
        let store = try makeSmallStore()
        try sh("head -c 3000000 /dev/urandom > '\(store.path)/pub/media/big.bin'")
        let bucket = try bucket()
        let missing = try run(["setup:rollback", "-n", "-m", "s3://\(bucket)/shop/1_filesystem_media.tgz", "--root", store.path])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stdout.contains("The rollback file doesn't exist."), missing.stdout)

        let b = try fastbackup(["setup:backup", "--media", "--root", store.path])
        XCTAssertEqual(b.status, 0, b.stderr)
        let local = try XCTUnwrap(path(b, "Media"))
        let whole = try Data(contentsOf: URL(fileURLWithPath: local))
        let half = Array(whole.prefix(whole.count / 2))
        try half.withUnsafeBytes { try S3Client(settings: settings).put(bucket, "shop/2_filesystem_media.tgz", body: $0) }
        try sh("echo live > '\(store.path)/pub/media/live.txt'")
        let live = try manifest(store.path + "/pub/media")
        let r = try run(["setup:rollback", "-n", "-m", "s3://\(bucket)/shop/2_filesystem_media.tgz", "--root", store.path])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertFalse(r.stderr.isEmpty)
        XCTAssertEqual(try manifest(store.path + "/pub/media"), live, "a truncated object changed the live media")
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.path + "/var/.maintenance.flag"))
    }
}

private extension URL {
    /// The URL, after creating an empty file there.
    func creatingFile() -> URL {
        FileManager.default.createFile(atPath: path, contents: nil)
        return self
    }
}
