import Foundation
import XCTest
import TestSupport

/// Folders with more entries than the walker keeps whole (LargeFolderListing: names only, lstat a
/// piece at a time), and a million files in one folder within the memory bound.
final class LargeFolderTests: XCTestCase {
    /// Makes `count` empty files `<dir>/f0000000`... with one process (a quick generator: a
    /// million files in a few seconds on tmpfs), plus `extra` shell commands.
    private func makeFlatFolder(_ dir: String, count: Int) throws {
        try sh("""
            mkdir -p '\(dir)' && python3 -c '
            import os, sys
            d, n = sys.argv[1], int(sys.argv[2])
            for i in range(n):
                os.close(os.open("%s/f%07d" % (d, i), os.O_CREAT | os.O_WRONLY, 0o644))
            ' '\(dir)' \(count)
            """)
    }

    /// 40,000 entries in one folder (past the 16,384 threshold) with folders, a symlink, a hard
    /// link and files with content among them: the archive lists them in name order, as for any
    /// folder, and GNU tar restores the same tree.
    func testFolderPastTheThresholdIsArchivedWhole() throws {
        try requireTool("tar")
        let t = try TempTree("largefolder")
        let flat = t.path + "/pub/media/flat"
        try makeFlatFolder(flat, count: 40_000)
        try t.file("pub/media/flat/f0012345", "content of one file\n")
        try t.file("pub/media/flat/m-sub/inner.txt", "a folder in the large one\n")
        try t.file("pub/media/flat/zz-sub/deeper/x.txt", "deeper\n")
        symlink("f0000001", flat + "/s-link")
        XCTAssertEqual(link(flat + "/f0012345", flat + "/h-link"), 0)
        try sh("find '\(t.path)/pub/media' -exec touch -h -d @1700000000 {} +")
        let r = try fastbackup(["setup:backup", "--media", "--no-maintenance", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let archive = try sh("ls '\(t.path)'/var/backups/*_filesystem_media.tgz").trimmingCharacters(in: .whitespacesAndNewlines)
        let names = try sh("tar -tzf '\(archive)'").split(separator: "\n").map(String.init)
        // The last entry is the tree record (var/.fastbackup/record.txt).
        XCTAssertEqual(names.count, 1 + 1 + 40_000 + 2 + 3 + 1 + 1 + 1)
        XCTAssertEqual(names.last, TreeRecordName)
        let inFlat = names.filter { $0.hasPrefix("pub/media/flat/") && !$0.dropFirst("pub/media/flat/".count).dropLast().contains("/") }
        XCTAssertEqual(inFlat, inFlat.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
        let out = try TempTree("largefolder-out")
        try sh("tar -xzf '\(archive)' -C '\(out.path)'")
        XCTAssertEqual(try manifest(out.path + "/pub/media"), try manifest(t.path + "/pub/media"))
        XCTAssertEqual(try sh("stat -c %i '\(out.path)/pub/media/flat/f0012345' '\(out.path)/pub/media/flat/h-link' | sort -u | wc -l")
            .trimmingCharacters(in: .whitespacesAndNewlines), "1")
    }

    /// One folder of 1,000,000 files: backup and rollback each within 256 MiB of peak RSS
    /// (GNU time's %M). On a tmpfs, so that making and removing the files takes seconds.
    func testMillionFilesInOneFolderWithinTheMemoryBound() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to mount a tmpfs for a million files") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else { throw XCTSkip("GNU time (/usr/bin/time) is not installed") }
        let t = try TempTree("million")
        // The live tree and the rollback's staged copy: two million inodes.
        try sh("mount -t tmpfs -o size=4g,nr_inodes=2200000 tmpfs '\(t.path)'")
        defer { _ = try? runProcess(["/bin/umount", "-l", t.path]) }
        try makeFlatFolder(t.path + "/pub/media/flat", count: 1_000_000)
        let backup = try runProcess(["/usr/bin/time", "-f", "peak %M KB", fastbackupBinary,
                                     "setup:backup", "--media", "--no-maintenance", "--root", t.path])
        XCTAssertEqual(backup.status, 0, backup.stderr)
        let backupKB = try XCTUnwrap(peakKB(backup.stderr))
        XCTAssertLessThanOrEqual(backupKB, 256 << 10, "backup peak RSS \(backupKB) KB")
        let archive = try sh("ls '\(t.path)'/var/backups/*_filesystem_media.tgz").trimmingCharacters(in: .whitespacesAndNewlines)
        let rollback = try runProcess(["/usr/bin/time", "-f", "peak %M KB", fastbackupBinary,
                                       "setup:rollback", "-n", "--no-maintenance", "-m", archive, "--root", t.path])
        XCTAssertEqual(rollback.status, 0, rollback.stderr)
        let rollbackKB = try XCTUnwrap(peakKB(rollback.stderr))
        XCTAssertLessThanOrEqual(rollbackKB, 256 << 10, "rollback peak RSS \(rollbackKB) KB")
        XCTAssertEqual(try sh("ls -f '\(t.path)/pub/media/flat' | wc -l").trimmingCharacters(in: .whitespacesAndNewlines), "1000002")
        print("one folder of 1,000,000 files: backup peak \(backupKB / 1024) MiB, rollback peak \(rollbackKB / 1024) MiB")
    }

    private func peakKB(_ stderr: String) -> Int? {
        stderr.split(separator: "\n").last { $0.hasPrefix("peak ") }.flatMap { Int($0.split(separator: " ")[1]) }
    }
}
