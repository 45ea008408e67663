import Foundation
import XCTest
import TestSupport

/// Files come back with the archive's mode and group however the folder they are restored into
/// would make them: a umask that strips bits, a setgid folder that hands its group down, a
/// default ACL that replaces the umask. The restore predicts what a new file gets and sets only
/// what differs, so each of these must be seen.
final class RollbackOwnershipTests: XCTestCase {
    private func store() throws -> TempTree {
        let t = try TempTree("own")
        try t.file("app/etc/env.php", "<?php return [];\n", mode: 0o640)
        try t.file("app/code/V/M/a.php", "<?php // a\n", mode: 0o664)
        try t.file("bin/magento", "#!/usr/bin/env php\n", mode: 0o755)
        try t.file("pub/index.php", "<?php // index\n", mode: 0o644)
        try t.dir("var/backups")
        return t
    }

    private func rollBack(_ t: TempTree, shellPrefix: String = "") throws {
        var r = try fastbackup(["setup:backup", "--code", "--root", t.path, "--no-maintenance"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let archive = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("Code backup path: ") }
            .map { String($0.dropFirst("Code backup path: ".count)) })
        let command = "\(shellPrefix) '\(fastbackupBinary)' setup:rollback -n -c '\(archive)' --root '\(t.path)'"
        r = try runProcess(["/bin/bash", "-c", command])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    func testUmaskDoesNotStripRestoredModes() throws {
        let t = try store()
        let before = try manifest(t.path, excluding: ["var"])
        try rollBack(t, shellPrefix: "umask 077 &&")
        XCTAssertEqual(try manifest(t.path, excluding: ["var"]), before)
    }

    func testSetgidRootDoesNotHandDownItsGroup() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root: only root restores the archive's group over a setgid folder's") }
        let t = try store()
        try sh("chown -R 0:0 '\(t.path)' && chgrp 4242 '\(t.path)' && chmod g+s '\(t.path)'")
        let before = try manifest(t.path, excluding: ["var"])
        try rollBack(t)
        XCTAssertEqual(try manifest(t.path, excluding: ["var"]), before)
        var st = stat()
        XCTAssertEqual(stat(t.path + "/pub/index.php", &st), 0)
        XCTAssertEqual(st.st_gid, 0, "the archive's group, not the setgid folder's")
    }

    func testDefaultACLDoesNotNarrowRestoredModes() throws {
        try requireTool("setfacl")
        let t = try store()
        let before = try manifest(t.path, excluding: ["var"])
        // New files get at most r-x for the group and nothing for others, whatever the umask.
        let r = try runProcess(["setfacl", "-d", "-m", "u::rwx,g::r-x,o::---", t.path])
        guard r.status == 0 else { throw XCTSkip("this filesystem does not take ACLs (setfacl: \(r.stderr)); the test needs one that does") }
        try rollBack(t)
        XCTAssertEqual(try manifest(t.path, excluding: ["var"]), before)
    }

    /// On an ext4 mounted with `grpid` every new file takes its folder's group, setgid or not:
    /// the archive's group must still come back. Made on a loop image (root only).
    func testGrpidMountDoesNotHandDownItsGroup() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root: it mounts a loop image with grpid") }
        try requireTool("mkfs.ext4")
        let scratch = try TempTree("grpid")
        let image = scratch.path + "/volume.img", mnt = scratch.path + "/mnt"
        _ = try sh("truncate -s 64M '\(image)' && mkfs.ext4 -q -F '\(image)' && mkdir '\(mnt)'")
        let mounted = try runProcess(["mount", "-o", "loop,grpid", image, mnt])
        guard mounted.status == 0 else { throw XCTSkip("cannot mount a loop image here (\(mounted.stderr)); the test needs one") }
        defer { _ = try? runProcess(["umount", mnt]) }
        let root = mnt + "/store"
        try sh("mkdir '\(root)' && chgrp 4242 '\(root)' && chmod g-s '\(root)'")
        for (rel, mode) in [("app/etc/env.php", "640"), ("pub/index.php", "644"), ("bin/magento", "755")] {
            try sh("mkdir -p \"$(dirname '\(root)/\(rel)')\" && echo x > '\(root)/\(rel)' && chmod \(mode) '\(root)/\(rel)'")
        }
        try sh("chown -R 0:0 '\(root)/app' '\(root)/pub' '\(root)/bin' && mkdir -p '\(root)/var/backups'")
        let before = try manifest(root, excluding: ["var"])
        var r = try fastbackup(["setup:backup", "--code", "--root", root, "--no-maintenance"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let archive = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("Code backup path: ") }
            .map { String($0.dropFirst("Code backup path: ".count)) })
        r = try fastbackup(["setup:rollback", "-n", "-c", archive, "--root", root])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try manifest(root, excluding: ["var"]), before)
    }
}
