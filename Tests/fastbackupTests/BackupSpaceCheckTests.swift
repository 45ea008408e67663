import Foundation
import XCTest
import TestSupport

/// The free-space check before a tree backup, on real tmpfs mounts (root only): refused when the
/// tree cannot fit, and no sizing walk where the file system's own counters show it fits
/// (SpaceBound).
final class BackupSpaceCheckTests: XCTestCase {
    private func mountTmpfs(_ path: String, size: String) throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to mount a tmpfs") }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try sh("mount -t tmpfs -o size=\(size) tmpfs '\(path)'")
        // The tree's own removal meets the mount point (EBUSY) when the test's variable goes
        // away before this runs, so the folder is removed again once it is unmounted.
        addTeardownBlock {
            _ = try? runProcess(["/bin/umount", "-l", path])
            _ = try? runProcess(["/bin/rm", "-rf", path])
            var dir = (path as NSString).deletingLastPathComponent
            while dir.hasPrefix(NSTemporaryDirectory()) || dir.hasPrefix("/tmp/") {
                guard rmdir(dir) == 0 else { break }
                dir = (dir as NSString).deletingLastPathComponent
            }
        }
    }

    private func writeRandom(_ path: String, bytes: Int) throws {
        try sh("mkdir -p \"$(dirname '\(path)')\" && head -c \(bytes) /dev/urandom > '\(path)'")
    }

    /// 12 MB of media and a var/backups of 4 MB: refused before anything is written, with both
    /// figures, and no temporary file left.
    func testRefusedWhenTheTreeCannotFit() throws {
        let t = try TempTree("space-small")
        try writeRandom(t.path + "/pub/media/big.bin", bytes: 12 << 20)
        try mountTmpfs(t.path + "/var/backups", size: "4m")
        let r = try fastbackup(["setup:backup", "--media", "--no-maintenance", "--root", t.path, "-v"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("Not enough free space in \(t.path)/var/backups"), r.stderr)
        XCTAssertTrue(r.stderr.contains("sizing the tree") || r.stderr.contains("sized "), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups"), [])
        // --skip-space-check tries anyway, meets the full disk, and still leaves nothing behind.
        let forced = try fastbackup(["setup:backup", "--media", "--no-maintenance", "--level", "0", "--skip-space-check", "--root", t.path])
        XCTAssertEqual(forced.status, 1, forced.stdout)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups"), [])
    }

    /// A store on its own tmpfs that is mostly empty: the counters vouch for the space, the
    /// tree is walked once, and the backup is whole.
    func testNoSizingPassWhereTheFileSystemVouches() throws {
        try requireTool("tar")
        let t = try TempTree("space-vouched")
        try mountTmpfs(t.path, size: "64m")
        for i in 0..<20 { try writeRandom(t.path + "/pub/media/f\(i).bin", bytes: 100_000) }
        let r = try fastbackup(["setup:backup", "--media", "--no-maintenance", "--root", t.path, "-v"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("fits, no sizing pass"), r.stderr)
        XCTAssertFalse(r.stderr.contains("sized "), r.stderr)
        let archive = try sh("ls '\(t.path)'/var/backups/*_filesystem_media.tgz").trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try sh("tar -tzf '\(archive)' | grep -c '\\.bin$'").trimmingCharacters(in: .whitespacesAndNewlines), "20")
    }

    /// Another file system mounted inside the tree: the counters of the tree's own say nothing
    /// of it, so the tree is sized.
    func testSizedWhenAMountLiesBelowTheTree() throws {
        let t = try TempTree("space-submount")
        try mountTmpfs(t.path, size: "64m")
        try mountTmpfs(t.path + "/pub/media/nfs-like", size: "16m")
        try writeRandom(t.path + "/pub/media/nfs-like/x.bin", bytes: 1000)
        let r = try fastbackup(["setup:backup", "--media", "--no-maintenance", "--root", t.path, "-v"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("sized "), r.stderr)
    }
}
