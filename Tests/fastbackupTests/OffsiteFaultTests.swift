import Foundation
import ObjectStore
import TestSupport
import XCTest

/// Faults of the store itself, against the real RADOS Gateway: the gateway killed (SIGKILL)
/// while a backup uploads and while a rollback downloads, and one part refused (4xx) halfway
/// through an upload. Each must end in a clear error and exit 1, maintenance mode off, nothing
/// listed as a backup, and the live store untouched. Needs FASTBACKUP_TEST_CEPH_DIR (the
/// cluster scripts/test.sh starts) to kill and restart the gateway; skipped, saying so,
/// without it.
final class OffsiteFaultTests: XCTestCase {
    private var environment: [String: String] = [:]
    private var settings: S3Settings!
    private var cephDir = ""

    override func setUpWithError() throws {
        let env = ProcessInfo.processInfo.environment
        guard let endpoint = env["FASTBACKUP_TEST_S3_ENDPOINT"], let key = env["AWS_ACCESS_KEY_ID"],
              let secret = env["AWS_SECRET_ACCESS_KEY"], let dir = env["FASTBACKUP_TEST_CEPH_DIR"] else {
            throw XCTSkip("no object store to kill: FASTBACKUP_TEST_S3_ENDPOINT and FASTBACKUP_TEST_CEPH_DIR are not set (scripts/test.sh sets both)")
        }
        environment = ["AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": "default"]
        settings = S3Settings(accessKey: key, secretKey: secret, region: "default", endpoint: endpoint)
        cephDir = dir
    }

    override func tearDown() {
        // Whatever happened, the next test finds the gateway up.
        if !cephDir.isEmpty { _ = try? gateway("start-rgw") }
        super.tearDown()
    }

    /// Runs `scripts/ceph-rgw.sh ACTION DIR` with posix_spawn and waitpid. Not through
    /// Foundation's Process: `start-rgw` leaves a daemon behind, and Process then never saw
    /// the script's own exit (its waitUntilExit hung beside the zombie).
    private func gateway(_ action: String) throws {
        let log = cephDir + "/log/test-\(action).out"
        let argv = ["/bin/bash", packageRoot + "/scripts/ceph-rgw.sh", action, cephDir]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ)
        guard rc == 0 else { throw XCTSkip("cannot run ceph-rgw.sh: \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        XCTAssertEqual(exited, 0, "ceph-rgw.sh \(action): \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    private func bucket() throws -> String {
        let name = "fbf-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try S3Client(settings: settings).createBucket(name)
        return name
    }

    /// A store with `megabytes` of incompressible media (so the archive is that large).
    private func store(megabytes: Int) throws -> TempTree {
        let t = try makeSmallStore()
        for i in 0..<megabytes / 8 {
            try sh("head -c \(8 << 20) /dev/urandom > '\(t.path)/pub/media/big\(i).bin'")
        }
        return t
    }

    /// Starts fastbackup without waiting (directly, not through a shell, so no background
    /// child holds the test's pipes); stderr goes to a file.
    private func start(_ args: [String], stderr: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: fastbackupBinary)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        p.standardOutput = FileHandle.nullDevice
        FileManager.default.createFile(atPath: stderr, contents: nil)
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderr))
        try p.run()
        return p
    }

    /// Polls until `condition` holds (every 10 ms, `seconds` at most).
    private func waitFor(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(10_000)
        }
        return false
    }

    /// The gateway dies while parts go up: the run fails naming the store it cannot reach,
    /// no object appears, and once the gateway is back the next run aborts the unfinished
    /// upload and says so.
    func testGatewayKilledDuringUpload() throws {
        let t = try store(megabytes: 96)
        let bucket = try bucket()
        let client = try S3Client(settings: settings)
        let err = t.path + "/../" + (t.path as NSString).lastPathComponent + ".err"
        defer { unlink(err) }
        let backup = try start(["setup:backup", "--media", "--level", "1", "--target", "s3://\(bucket)/shop", "--root", t.path], stderr: err)
        let begun = try waitFor(20) { !(try client.pendingUploads(bucket, prefix: "")).isEmpty }
        try gateway("kill-rgw")
        backup.waitUntilExit()
        let message = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        XCTAssertTrue(begun, "no upload had begun")
        XCTAssertEqual(backup.terminationStatus, 1, message)
        XCTAssertTrue(message.contains("cannot reach the object store"), message)
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/var/.maintenance.flag"), "maintenance mode left on")
        try gateway("start-rgw")
        XCTAssertEqual(try client.list(bucket, prefix: ""), [], "a backup cut off by the dead gateway became an object")
        let left = try client.pendingUploads(bucket, prefix: "")
        let next = try fastbackup(["setup:backup", "--media", "--level", "1", "--no-maintenance", "--target", "s3://\(bucket)/shop", "--root", t.path],
                                  environment: environment)
        XCTAssertEqual(next.status, 0, next.stderr)
        for upload in left {
            XCTAssertTrue(next.stdout.contains("Aborted the unfinished upload of s3://\(bucket)/\(upload.key)"), next.stdout)
        }
        XCTAssertEqual(try client.pendingUploads(bucket, prefix: ""), [], "the next run left the killed run's upload")
        XCTAssertEqual(try client.list(bucket, prefix: "").count, 1)
    }

    /// The gateway dies while the rollback reads the object: the rollback fails before the
    /// swap, the live media is as it was, and no staging folder is left.
    func testGatewayKilledDuringDownload() throws {
        let t = try store(megabytes: 160)
        let bucket = try bucket()
        let b = try fastbackup(["setup:backup", "--media", "--level", "1", "--no-maintenance", "--target", "s3://\(bucket)/shop", "--root", t.path],
                               environment: environment)
        XCTAssertEqual(b.status, 0, b.stderr)
        let url = try XCTUnwrap(b.stdout.split(separator: "\n").first { $0.hasPrefix("Media backup path: ") }
            .map { String($0.dropFirst("Media backup path: ".count)) })
        try sh("rm -f '\(t.path)'/pub/media/big1*.bin && echo live > '\(t.path)/pub/media/live.txt'")
        let live = try manifest(t.path + "/pub/media")
        let err = t.path + "/../" + (t.path as NSString).lastPathComponent + ".err"
        defer { unlink(err) }
        let rollback = try start(["setup:rollback", "-n", "-m", url, "--root", t.path], stderr: err)
        // The staging folder appears once the download feeds the extraction.
        let staging = waitFor(20) {
            ((try? FileManager.default.contentsOfDirectory(atPath: t.path + "/pub")) ?? []).contains { $0.hasPrefix(".fastbackup-") }
        }
        try gateway("kill-rgw")
        rollback.waitUntilExit()
        let message = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        XCTAssertTrue(staging, "the rollback never began staging: \(message)")
        XCTAssertEqual(rollback.terminationStatus, 1, message)
        XCTAssertTrue(message.contains("cannot reach the object store") || message.contains("s3://\(bucket)"), message)
        XCTAssertEqual(try manifest(t.path + "/pub/media"), live, "a failed download changed the live media")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: t.path + "/pub").filter { $0.hasPrefix(".fastbackup-") }, [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/var/.maintenance.flag"), "maintenance mode left on")
    }

    /// One part refused halfway (the upload is aborted from outside, so the next UploadPart
    /// gets 404 NoSuchUpload): the run fails naming the part and the store's code, and
    /// nothing is listed.
    func testPartRefusedHalfway() throws {
        let t = try store(megabytes: 96)
        let bucket = try bucket()
        let client = try S3Client(settings: settings)
        let err = t.path + "/../" + (t.path as NSString).lastPathComponent + ".err"
        defer { unlink(err) }
        let backup = try start(["setup:backup", "--media", "--level", "1", "--no-maintenance", "--target", "s3://\(bucket)/shop", "--root", t.path], stderr: err)
        var upload: S3Client.PendingUpload?
        _ = try waitFor(20) {
            upload = try client.pendingUploads(bucket, prefix: "").first
            return upload != nil
        }
        if let upload { try client.abortUpload(bucket, upload.key, uploadID: upload.uploadID) }
        backup.waitUntilExit()
        let message = (try? String(contentsOfFile: err, encoding: .utf8)) ?? ""
        XCTAssertNotNil(upload, "no upload had begun")
        XCTAssertEqual(backup.terminationStatus, 1, message)
        XCTAssertTrue(message.contains("NoSuchUpload"), message)
        XCTAssertTrue(message.contains("part ") || message.contains("uploadId"), message)
        XCTAssertEqual(try client.list(bucket, prefix: ""), [])
        XCTAssertEqual(try client.pendingUploads(bucket, prefix: ""), [])
    }
}
