import Foundation
import XCTest

/// The progress line appears on a terminal only, for backups and rollbacks alike, and is
/// cleared before the next console line. A terminal is given with util-linux `script`.
final class ProgressLineTests: XCTestCase {
    func testBackupAndRollbackDrawProgressOnATerminalOnly() throws {
        try requireTool("script")
        let t = try makeSmallStore()
        // ~3,100 files of base64 text (40 MB): compressing and creating them lasts past the first
        // redraw (0.1 s); measured 0.45 s to back up and 1.3 s to roll back in a debug build.
        try sh("mkdir -p '\(t.path)/pub/media/p' && cd '\(t.path)/pub/media/p' && head -c 30000000 /dev/urandom | base64 | split -a 3 -b 13000 - f")
        let bin = fastbackupBinary
        let backup = try sh("TERM=xterm script -qefc \"'\(bin)' setup:backup --media --no-maintenance --root '\(t.path)'\" /dev/null")
        XCTAssertTrue(backup.contains("Media backup: "), "no progress line on a terminal:\n\(backup)")
        XCTAssertTrue(backup.contains("files, "), backup)
        XCTAssertTrue(backup.contains("\r\u{1B}[K[SUCCESS]") || backup.contains("\u{1B}[K"), "the line is cleared: \(backup)")
        let archive = try XCTUnwrap(backup.split(whereSeparator: { $0.isNewline })
            .first { $0.hasPrefix("Media backup path: ") }.map { String($0.dropFirst("Media backup path: ".count)) })
        let rollback = try sh("TERM=xterm script -qefc \"'\(bin)' setup:rollback -n -m '\(archive)' --no-maintenance --root '\(t.path)'\" /dev/null")
        XCTAssertTrue(rollback.contains("Media rollback: "), "no progress line on a terminal:\n\(rollback)")
        XCTAssertTrue(rollback.contains(" of "), "fastbackup's own archive gives the total size: \(rollback)")

        // Not a terminal: the plain lines only.
        let plain = try fastbackup(["setup:rollback", "-n", "-m", archive, "--no-maintenance", "--root", t.path])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertFalse(plain.stderr.contains("Media rollback: "), plain.stderr)
    }
}
