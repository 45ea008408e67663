import Foundation
import XCTest
@testable import fastbackup
import TestSupport

/// Command-line edges: signals a caller asked to be ignored, maintenance mode when an in-place
/// restore is interrupted, the run lock shared between accounts, leftovers of killed runs, and
/// the small checks that run before anything else.
final class CommandEdgeTests: XCTestCase {
    /// A store of `files` small files under app/, with var/backups.
    private func store(files: Int) throws -> TempTree {
        let t = try TempTree("edge")
        try t.dir("var/backups")
        try t.file("pub/index.php", "<?php")
        try sh("cd '\(t.path)' && python3 -c 'import os\nfor d in range(\(max(1, files / 100))):\n os.makedirs(\"app/d%03d\" % d, exist_ok=True)\n for f in range(100): open(\"app/d%03d/f%03d.php\" % (d, f), \"w\").write(\"<?php // %d\" % f)'")
        return t
    }

    /// Runs `script` (bash) with FB set to the binary and the store's path in S.
    private func bash(_ script: String, _ t: TempTree) throws -> RunResult {
        try runProcess(["/bin/bash", "-c", "FB='\(fastbackupBinary)'; S='\(t.path)'\n" + script])
    }

    /// `nohup` (or a job a script starts with `&`) leaves SIGHUP ignored: the backup must
    /// survive the hangup, not clean up and exit 129.
    func testIgnoredHangupIsLeftIgnored() throws {
        try requireTool("python3")
        let t = try store(files: 20_000)
        let r = try bash("""
        trap '' HUP
        "$FB" setup:backup --code --root "$S" --no-maintenance --level 9 -j 1 > "$S/out.txt" 2>&1 &
        pid=$!
        for i in $(seq 100); do grep -q 'backup is starting' "$S/out.txt" && break; sleep 0.05; done
        kill -HUP $pid; wait $pid; echo "exit $?"
        """, t)
        let out = (try? String(contentsOfFile: t.path + "/out.txt", encoding: .utf8)) ?? ""
        XCTAssertTrue(r.stdout.contains("exit 0"), r.stdout + out)
        XCTAssertFalse(out.contains("interrupted by signal"), out)
    }

    /// A signal during an --in-place rollback leaves maintenance mode on (the live tree is half
    /// restored), and says so; before, the flag went and the store came back up broken.
    func testInterruptedInPlaceRollbackKeepsMaintenanceOn() throws {
        try requireTool("python3")
        let t = try store(files: 20_000)
        let b = try fastbackup(["setup:backup", "--code", "--root", t.path, "--no-maintenance"])
        XCTAssertEqual(b.status, 0, b.stderr)
        let archive = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups").first { $0.hasSuffix(".tgz") })
        let r = try bash("""
        "$FB" setup:rollback -n --in-place -c \(archive) --root "$S" -j 1 > "$S/out.txt" 2>&1 &
        pid=$!
        for i in $(seq 100); do grep -q 'rollback is starting' "$S/out.txt" && break; sleep 0.05; done
        sleep 0.2; kill -TERM $pid; wait $pid; echo "exit $?"; cat "$S/out.txt"
        """, t)
        if r.stdout.contains("exit 0") { throw XCTSkip("the rollback finished before the signal; nothing to check") }
        XCTAssertTrue(r.stdout.contains("exit 143"), r.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: t.path + "/var/.maintenance.flag"), r.stdout)
        XCTAssertTrue(r.stdout.contains("maintenance mode left on"), r.stdout)
    }

    /// The run lock once was 0600 and opened read-write: after root ran the tool once, the store's
    /// owner could never run it again ("Permission denied"). Needs root and setpriv(1).
    func testRunLockIsSharedBetweenAccounts() throws {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("needs root and setpriv(1) to run as a second account")
        }
        let t = try TempTree("lock")
        try t.file("app/etc/di.xml", "<config/>")
        try t.dir("var/backups")
        try sh("chmod 0755 '\(t.path)' && chown -R 65534:65534 '\(t.path)'")
        XCTAssertEqual(try fastbackup(["info:backups:list", "--root", t.path]).status, 0)
        let first = try fastbackup(["setup:backup", "--code", "--root", t.path, "--no-maintenance"])
        XCTAssertEqual(first.status, 0, first.stderr)
        try sh("rm -f '\(t.path)'/var/backups/*.tgz")
        let other = try runProcess(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", fastbackupBinary,
                                    "setup:backup", "--code", "--root", t.path, "--no-maintenance"])
        XCTAssertEqual(other.status, 0, other.stderr)
    }

    /// A backup killed with SIGKILL leaves its hidden `.partial` file; the next backup removes it
    /// (under the run lock, so it is no live run's) and says so.
    func testKilledBackupsPartialFileIsRemovedByTheNext() throws {
        let t = try TempTree("partial")
        try t.file("app/etc/di.xml", "<config/>")
        try t.file("var/backups/.1_filesystem_code.tgz.424242.1.partial", String(repeating: "x", count: 1000))
        let r = try fastbackup(["setup:backup", "--code", "--root", t.path, "--no-maintenance"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("left by an interrupted backup"), r.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/var/backups/.1_filesystem_code.tgz.424242.1.partial"))
    }

    /// Checks that come first: an empty --root is refused (an unset variable in a cron line would
    /// otherwise mean the current folder); --jobs is checked before the y/N question; a
    /// var/backups that cannot be listed is an error, not "No backup files found."; timestamps
    /// are ASCII digits.
    func testChecksBeforeWork() throws {
        let empty = try fastbackup(["setup:backup", "--code", "--root", ""])
        XCTAssertEqual(empty.status, 1)
        XCTAssertTrue(empty.stderr.contains("--root is empty"), empty.stderr)

        let t = try TempTree("checks")
        try t.file("app/etc/di.xml", "<config/>")
        try t.file("var/backups/1_filesystem_code.tgz", "x")
        try t.file("var/backups/½_db.sql", "x")
        let jobs = try fastbackup(["setup:rollback", "-c", "1_filesystem_code.tgz", "-j", "0", "--root", t.path], input: "y\n")
        XCTAssertEqual(jobs.status, 1)
        XCTAssertFalse(jobs.stdout.contains("Are you sure"), jobs.stdout)
        let list = try fastbackup(["info:backups:list", "--root", t.path])
        XCTAssertFalse(list.stdout.contains("½"), list.stdout)

        try sh("rm -rf '\(t.path)/var/backups' && echo not-a-folder > '\(t.path)/var/backups'")
        let unreadable = try fastbackup(["info:backups:list", "--root", t.path])
        XCTAssertEqual(unreadable.status, 1, unreadable.stdout)
    }

    /// Symfony's global options, which scripts written for bin/magento pass to every command,
    /// were refused ('The "-n" option does not exist.'). `-q` leaves stdout empty.
    func testMagentoGlobalOptionsAreAccepted() throws {
        let t = try TempTree("globals")
        try t.file("app/etc/di.xml", "<config/>")
        let quiet = try fastbackup(["setup:backup", "--code", "-n", "--no-ansi", "-q", "--root", t.path, "--no-maintenance"])
        XCTAssertEqual(quiet.status, 0, quiet.stderr)
        XCTAssertEqual(quiet.stdout, "")
        let list = try fastbackup(["info:backups:list", "-vv", "--ansi", "--root", t.path])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertTrue(list.stdout.contains("_filesystem_code.tgz"), list.stdout)
    }

    /// 999,999 bytes is "1.0 MB", not "1000.0 KB".
    func testSizesRoundIntoTheNextUnit() {
        XCTAssertEqual(formatBytes(999_999), "1.0 MB")
        XCTAssertEqual(formatBytes(999_949), "999.9 KB")
        XCTAssertEqual(formatBytes(999), "999 B")
        XCTAssertEqual(formatBytes(1_500_000_000), "1.5 GB")
    }
}
