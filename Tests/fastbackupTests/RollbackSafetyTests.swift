import Foundation
import XCTest
import TestSupport

/// Rollbacks that must refuse, or put everything back, instead of damaging the store or what is
/// mounted or linked into it: symlinked `pub`, archives kept in the root, mount points, a rename
/// that fails midway, shared-storage media, a second run, a full disk, a signal while staging.
/// Mount tests need root (tmpfs via mount(8)); they skip with a message otherwise.
final class RollbackSafetyTests: XCTestCase {
    private var mounts: [String] = []
    private var immutable: [String] = []
    /// Trees that hold mounts: kept until the mounts are gone, so `rm -rf` never runs into one.
    private var trees: [TempTree] = []

    override func tearDown() {
        unmountAll()
        trees = []
        super.tearDown()
    }

    private func unmountAll() {
        for path in immutable { _ = try? runProcess(["/usr/bin/chattr", "-i", path]) }
        for path in mounts.reversed() { _ = try? runProcess(["/bin/umount", "-l", path]) }
        // A rollback that wrongly renamed a mount point moved it; find it under the trees.
        for t in trees {
            let moved = (try? runProcess(["/bin/bash", "-c", "findmnt -rn -o TARGET | grep -F '\(t.path)/' | sort -r"]))?.stdout ?? ""
            for path in moved.split(separator: "\n") { _ = try? runProcess(["/bin/umount", "-l", String(path)]) }
        }
        mounts = []
        immutable = []
    }

    private func kept(_ t: TempTree) -> TempTree {
        trees.append(t)
        return t
    }

    private func requireRoot() throws {
        if geteuid() != 0 { throw XCTSkip("this test mounts tmpfs and needs root") }
    }

    /// `mount -t tmpfs -o size=<size> none <path>`, unmounted in tearDown.
    private func mountTmpfs(_ path: String, size: String = "64m") throws {
        try requireRoot()
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try sh("mount -t tmpfs -o size=\(size) none '\(path)'")
        mounts.append(path)
    }

    private func backup(_ t: TempTree, _ kind: String, extra: [String] = []) throws -> String {
        let r = try fastbackup(["setup:backup", "--\(kind)", "--root", t.path, "--no-maintenance"] + extra)
        XCTAssertEqual(r.status, 0, r.stderr)
        let title = kind == "code" ? "Code" : "Media"
        return try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("\(title) backup path: ") }
            .map { String($0.dropFirst("\(title) backup path: ".count)) })
    }

    private func rollback(_ t: TempTree, _ args: [String]) throws -> RunResult {
        try fastbackup(["setup:rollback", "-n", "--root", t.path, "--no-maintenance"] + args)
    }

    private func leftovers(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix(".fastbackup-") }
    }

    // MARK: finding 5

    /// An archive whose `pub` is a symlink (or a file) must be refused before the swap: the swap
    /// descends into `pub`, so it would move outside files in and live ones out.
    func testArchiveWithNonFolderPubIsRefused() throws {
        try requireTool("tar")
        let cases: [(String, String)] = [
            ("symlink", "ln -s \"$OUT\" src/pub"),
            ("file", "echo not-a-folder > src/pub"),
        ]
        for (label, makePub) in cases {
            let t = try makeSmallStore()
            let outside = try TempTree("outside")
            try outside.file("secret", "secret\n")
            let outsideBefore = try manifest(outside.path)
            // The archive: `tar -czf 1_filesystem_code.tgz -C src app pub` with pub as a symlink or file.
            try sh("""
            cd '\(t.path)' && OUT='\(outside.path)' && mkdir -p src/app/etc && echo restored > src/app/etc/di.xml && \(makePub) && \
            tar -czf var/backups/1_filesystem_code.tgz -C src app pub && rm -rf src
            """)
            let live = try manifest(t.path, excluding: ["var"])
            let r = try rollback(t, ["-c", "1_filesystem_code.tgz"])
            XCTAssertEqual(r.status, 1, "\(label): \(r.stdout)")
            XCTAssertTrue(r.stderr.contains("pub is not a folder"), "\(label): \(r.stderr)")
            XCTAssertEqual(try manifest(outside.path), outsideBefore, "\(label): outside changed")
            XCTAssertEqual(try manifest(t.path, excluding: ["var"]), live, "\(label): live tree changed")
            XCTAssertEqual(leftovers(t.path), [], label)
        }
    }

    /// Over the live tree (`--in-place`) the same archive once replaced the live `pub` folder,
    /// and pub/media and pub/static with it, by its file `pub` (exit 0). Refused now, with media and
    /// static as they were. Fixture: `tar -czf 1_filesystem_code.tgz -C src app pub`, pub a file.
    func testInPlaceArchiveWithFilePubKeepsMedia() throws {
        try requireTool("tar")
        let t = try makeSmallStore()
        try sh("""
        cd '\(t.path)' && mkdir -p src/app/etc && echo restored > src/app/etc/di.xml && echo not-a-folder > src/pub && \
        tar -czf var/backups/1_filesystem_code.tgz -C src app pub && rm -rf src
        """)
        let media = try manifest(t.path + "/pub/media")
        let r = try rollback(t, ["--in-place", "-c", "1_filesystem_code.tgz"])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stderr.contains("left alone by this rollback"), r.stderr)
        XCTAssertEqual(try manifest(t.path + "/pub/media"), media)
        XCTAssertTrue(FileManager.default.fileExists(atPath: t.path + "/pub/static/keep.css"))
    }

    /// Not run as root, with `vendor` hardened to 0555 (`chmod u-w`): moving a folder to another
    /// parent needs write permission on it, so the swap failed with EACCES (and was undone) on
    /// every try. The owner lends itself the bit for the rename; `vendor` keeps its 0555 and the
    /// rollback succeeds. Run as uid 65534 through setpriv; skips where that is not possible.
    func testReadOnlyTopFolderSwapsWhenNotRoot() throws {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("needs root and setpriv(1) to run the rollback as another user")
        }
        let t = try makeSmallStore()
        try t.file("vendor/pkg/a.php", "<?php // v1\n")
        try sh("chmod 0755 '\(t.path)' && chown -R 65534:65534 '\(t.path)'")
        let run = { (args: [String]) throws -> RunResult in
            try runProcess(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", fastbackupBinary] + args)
        }
        let b = try run(["setup:backup", "--code", "--root", t.path, "--no-maintenance"])
        XCTAssertEqual(b.status, 0, b.stderr)
        let archive = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups").first { $0.hasSuffix(".tgz") })
        try sh("echo changed > '\(t.path)/vendor/pkg/a.php' && chmod 0555 '\(t.path)/vendor/pkg' '\(t.path)/vendor'")
        let r = try run(["setup:rollback", "-n", "-c", archive, "--root", t.path, "--no-maintenance"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try String(contentsOfFile: t.path + "/vendor/pkg/a.php", encoding: .utf8), "<?php // v1\n")
        XCTAssertEqual(leftovers(t.path), [])
    }

    /// A live `pub` that is a symlink is not swapped through either.
    func testLivePubSymlinkIsRefused() throws {
        let t = try makeSmallStore()
        let archive = try backup(t, "code")
        let elsewhere = try TempTree("realpub")
        try sh("cp -a '\(t.path)/pub/.' '\(elsewhere.path)/' && rm -rf '\(t.path)/pub' && ln -s '\(elsewhere.path)' '\(t.path)/pub'")
        let before = try manifest(elsewhere.path)
        let r = try rollback(t, ["-c", archive])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stderr.contains("live pub is not a folder (a symlink)"), r.stderr)
        XCTAssertEqual(try manifest(elsewhere.path), before)
    }

    // MARK: finding 7

    /// An archive kept inside the root (outside var/) survives the code rollback it is given to,
    /// and so does the folder holding it; other files there are rolled back as usual.
    func testArchiveGivenInsideRootIsKept() throws {
        let t = try makeSmallStore()
        let made = try backup(t, "code")
        let name = (made as NSString).lastPathComponent
        try sh("cd '\(t.path)' && mkdir -p backups/old && mv '\(made)' backups/old/ && echo later > backups/notes.txt")
        let archive = t.path + "/backups/old/" + name
        let sum = try sh("sha1sum '\(archive)'")
        let r = try rollback(t, ["-c", archive])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try sh("sha1sum '\(archive)'"), sum, "the archive given to the rollback must be kept")
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/backups/notes.txt"), "not in the archive, so rolled back away")
        XCTAssertEqual(leftovers(t.path), [])
    }

    /// A media archive kept inside pub/media would be deleted with the tree the swap replaces:
    /// the rollback refuses before anything is staged, and the archive and the live tree stay.
    func testMediaArchiveInsideMediaIsRefused() throws {
        let t = try makeSmallStore()
        let made = try backup(t, "media")
        let name = (made as NSString).lastPathComponent
        try sh("mkdir -p '\(t.path)/pub/media/import' && mv '\(made)' '\(t.path)/pub/media/import/'")
        let archive = t.path + "/pub/media/import/" + name
        let live = try manifest(t.path + "/pub/media")
        let r = try rollback(t, ["-m", archive])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stderr.contains("lies inside"), r.stderr)
        XCTAssertEqual(try manifest(t.path + "/pub/media"), live)
        XCTAssertEqual(leftovers(t.path + "/pub"), [])
    }

    /// A journal that cannot be written (here its temporary name is taken by a folder; on a
    /// full disk the write fails) stops the rollback before any rename, and the staged copy is
    /// removed rather than left for the next run.
    func testUnwritableJournalLeavesNoStagingFolder() throws {
        let t = try makeSmallStore()
        let archive = try backup(t, "code")
        try sh("echo changed > '\(t.path)/app/etc/di.xml' && mkdir '\(t.path)/var/.fastbackup-rollback-code.journal.tmp'")
        let live = try manifest(t.path, excluding: ["var"])
        let r = try rollback(t, ["-c", archive])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stderr.contains("Cannot write the rollback journal"), r.stderr)
        XCTAssertEqual(try manifest(t.path, excluding: ["var"]), live)
        XCTAssertEqual(leftovers(t.path), [])
    }

    /// A disk that fills up while staging (the archive's size promised room: a foreign
    /// `tar -czf` of 24 MB of zeros is 24 KB, and states no expanded size) stops the rollback
    /// with the staging folder removed, the live media untouched, and the advice the command
    /// line adds: free space or `--in-place`. Fixture: `head -c 24M /dev/zero > pub/media/zeros.bin;
    /// tar -czf 1_filesystem_media.tgz pub/media` on a 16 MiB tmpfs mounted at `pub/media`.
    func testDiskFullWhileStagingLeavesLiveMediaAndAdvises() throws {
        let t = kept(try makeSmallStore())
        let source = try TempTree("zeros")
        try sh("mkdir -p '\(source.path)/pub/media' && head -c 24M /dev/zero > '\(source.path)/pub/media/zeros.bin' && tar -czf '\(t.path)/var/backups/1_filesystem_media.tgz' -C '\(source.path)' pub/media")
        let media = t.path + "/pub/media"
        try sh("mv '\(media)' '\(t.path)/media-before'")
        try mountTmpfs(media, size: "16m")
        try sh("cp -a '\(t.path)/media-before/.' '\(media)/' && rm -rf '\(t.path)/media-before'")
        let live = try manifest(media)
        let r = try rollback(t, ["-m", "1_filesystem_media.tgz"])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stderr.contains("No space left on device"), r.stderr)
        XCTAssertTrue(r.stderr.contains("free some space, or rerun with --in-place"), r.stderr)
        XCTAssertEqual(try manifest(media), live, "a rollback that ran out of space changed the live media")
        XCTAssertEqual(leftovers(media), [])
        unmountAll()
    }

    // MARK: findings 9 and 10

    /// A volume mounted inside a unit (`app/code/Shared`, `app/code/With Space`) or as a unit (`generated`) makes the
    /// code rollback refuse before anything is renamed; the volume keeps its files, no journal is
    /// left, and a later rollback of another kind still works.
    func testMountPointInsideOrAtAUnitIsRefused() throws {
        // "With Space": mountinfo writes it as With\040Space, which must be read back.
        for mountRel in ["app/code/Shared", "generated", "app/code/With Space"] {
            let t = kept(try makeSmallStore())
            try mountTmpfs(t.path + "/" + mountRel)
            try t.file(mountRel + "/M.php", "v1\n")
            let archive = try backup(t, "code")
            let media = try backup(t, "media")
            try t.file(mountRel + "/new.php", "only on the volume\n")
            try t.file("app/etc/di.xml", "changed\n")
            let live = try manifest(t.path, excluding: ["var"])
            let r = try rollback(t, ["-c", archive])
            XCTAssertEqual(r.status, 1, r.stdout)
            XCTAssertTrue(r.stderr.contains("\(t.path)/\(mountRel) is a mount point"), r.stderr)
            XCTAssertTrue(r.stderr.contains("--in-place"), r.stderr)
            XCTAssertEqual(try manifest(t.path, excluding: ["var"]), live, "nothing may change")
            XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/var/.fastbackup-rollback-code.journal"))
            XCTAssertEqual(leftovers(t.path), [])
            let m = try rollback(t, ["-m", media])
            XCTAssertEqual(m.status, 0, "a later media rollback is not wedged: \(m.stderr)")
            unmountAll()
        }
    }

    /// A rename that fails in the middle of the swap (`chattr +i` on a later unit gives EPERM)
    /// puts back the ones already done: the live tree is as it was and no journal is left.
    func testFailedRenameIsUndone() throws {
        try requireRoot()
        // Kept until tearDown has lifted the immutable flag, or its removal would fail.
        let t = kept(try makeSmallStore())
        try t.file("vendor/autoload.php", "<?php\n")
        let archive = try backup(t, "code")
        try t.file("app/etc/di.xml", "changed\n")
        try t.file("bin/extra", "extra\n")
        // Units go in name order (app, bin, pub/..., vendor): vendor fails after the others moved.
        let chattr = try runProcess(["/usr/bin/chattr", "+i", t.path + "/vendor"])
        guard chattr.status == 0 else { throw XCTSkip("chattr +i is not supported here: \(chattr.stderr)") }
        immutable.append(t.path + "/vendor")
        let live = try manifest(t.path, excluding: ["var"])
        let r = try rollback(t, ["-c", archive])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stderr.contains("were undone; the live tree is as it was"), r.stderr)
        XCTAssertEqual(try manifest(t.path, excluding: ["var"]), live)
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/var/.fastbackup-rollback-code.journal"))
        XCTAssertEqual(leftovers(t.path), [])
        XCTAssertEqual(leftovers(t.path + "/pub"), [])
    }

    /// Clean-up never crosses into a mounted volume: a leftover set-aside folder with a volume
    /// mounted inside is removed around it, and the volume keeps its files.
    func testRecoveryLeavesAMountedVolumeAlone() throws {
        let t = kept(try makeSmallStore())
        let archive = try backup(t, "media")
        let volume = t.path + "/.fastbackup-old-code-1/app/code/Shared"
        try t.file(".fastbackup-old-code-1/app/etc/di.xml", "old\n")
        try mountTmpfs(volume)
        try "keep\n".write(toFile: volume + "/M.php", atomically: false, encoding: .utf8)
        let r = try rollback(t, ["-m", archive])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("left \(volume) alone"), r.stderr)
        XCTAssertEqual(try String(contentsOfFile: volume + "/M.php", encoding: .utf8), "keep\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/.fastbackup-old-code-1/app/etc/di.xml"))
    }

    // MARK: finding 11

    /// Media on a volume of its own, either `pub/media` symlinked to a mount point (shared
    /// storage) or a volume mounted at `pub/media`: the rollback stages inside the volume and
    /// swaps its contents, so the mount stays and the media come back exactly.
    func testMediaOnItsOwnVolumeIsSwappedInside() throws {
        for layout in ["symlink", "mounted"] {
            let t = kept(try makeSmallStore())
            let shared = kept(try TempTree("shared"))
            let volume = layout == "symlink" ? shared.path + "/media" : t.path + "/pub/media"
            try sh("mkdir '\(shared.path)/copy' && cp -a '\(t.path)/pub/media/.' '\(shared.path)/copy/' && rm -rf '\(t.path)/pub/media'")
            try mountTmpfs(volume)
            try sh("cp -a '\(shared.path)/copy/.' '\(volume)/' && rm -rf '\(shared.path)/copy'")
            if layout == "symlink" { symlink(volume, t.path + "/pub/media") }
            let expected = try manifest(volume)
            let archive = try backup(t, "media")
            try sh("cd '\(volume)' && echo changed > wysiwyg/w.png && rm -rf catalog && echo new > added.txt")
            let r = try rollback(t, ["-m", archive])
            XCTAssertEqual(r.status, 0, "\(layout): \(r.stderr)")
            XCTAssertEqual(try manifest(volume), expected, layout)
            XCTAssertTrue(try sh("findmnt -rn -o TARGET").split(separator: "\n").contains(Substring(volume)), "\(layout): still mounted")
            XCTAssertEqual(leftovers(volume), [], layout)
            XCTAssertEqual(leftovers(t.path + "/pub"), [], layout)
            unmountAll()
        }
    }

    // MARK: finding 12

    /// While another process holds the run lock, backup and rollback both refuse at once, and
    /// neither touches the maintenance flag or the tree.
    func testSecondRunIsRefusedWhileTheLockIsHeld() throws {
        let t = try makeSmallStore()
        let archive = try backup(t, "media")
        let lockPath = t.path + "/var/.fastbackup.lock"
        let fd = open(lockPath, O_RDWR | O_CREAT, 0o600)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
        let message = "Another fastbackup run holds \(lockPath); try again when it has finished."
        for args in [["setup:backup", "--media", "--root", t.path], ["setup:rollback", "-n", "-m", archive, "--root", t.path]] {
            let r = try fastbackup(args)
            XCTAssertEqual(r.status, 1, args.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains(message), r.stderr)
            XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/var/.maintenance.flag"))
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups"), [(archive as NSString).lastPathComponent])
        flock(fd, LOCK_UN)
        XCTAssertEqual(try rollback(t, ["-m", archive]).status, 0, "free again once the lock is released")
    }

    // MARK: finding 17

    /// The space check counts what the archive expands to: a 15 MB compressible file in a
    /// 24 MB tmpfs backs up small but cannot be staged, and is refused before extracting.
    /// A foreign archive (GNU tar) falls back to its own size and says so.
    func testSpaceCheckUsesTheExpandedSize() throws {
        let t = kept(try TempTree("space"))
        try mountTmpfs(t.path, size: "24m")
        try sh("cd '\(t.path)' && mkdir -p app/etc var/backups pub/media && yes 'magento code line' | head -c 15000000 > app/etc/big.php")
        for codec in ["gzip", "zstd"] {
            let archive = try backup(t, "code", extra: ["--skip-space-check", "--compression", codec])
            let r = try rollback(t, ["-c", archive])
            XCTAssertEqual(r.status, 1, "\(codec): \(r.stdout)")
            XCTAssertTrue(r.stderr.contains("the archive expands to "), "\(codec): \(r.stderr)")
            XCTAssertEqual(leftovers(t.path), [])
            unlink(archive)
        }
        // Foreign: `head -c 9000000 /dev/urandom` in a GNU tar archive, then the tmpfs filled to
        // leave less free than the archive's own size.
        try sh("""
        cd '\(t.path)' && rm -f app/etc/big.php && head -c 9000000 /dev/urandom > app/etc/random.bin && \
        tar -czf var/backups/1_filesystem_code.tgz app && rm app/etc/random.bin && \
        head -c 8000000 /dev/zero > var/filler
        """)
        let r = try rollback(t, ["-c", "1_filesystem_code.tgz"])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stderr.contains("not written by fastbackup"), r.stderr)
    }

    // MARK: finding 18

    /// SIGTERM while writer threads stage a media archive leaves no staging folder behind.
    func testSigtermWhileStagingLeavesNoStagingFolder() throws {
        let t = try makeSmallStore()
        // 3000 small files in 30 folders, so the writers are busy creating files when the signal lands.
        try sh("cd '\(t.path)/pub/media' && for d in $(seq 1 30); do mkdir -p many/$d; for f in $(seq 1 100); do echo $d-$f > many/$d/$f.txt; done; done")
        let archive = try backup(t, "media")
        var landed = 0
        for _ in 1...3 {
            try sh("""
            '\(fastbackupBinary)' setup:rollback -n -j 2 -m '\(archive)' --root '\(t.path)' --no-maintenance >/dev/null 2>&1 & pid=$!; \
            for i in $(seq 1 2000); do ls -d '\(t.path)'/pub/.fastbackup-staging-*/media/many/3 >/dev/null 2>&1 && break; sleep 0.001; done; \
            kill -TERM $pid; wait $pid || true
            """)
            if FileManager.default.fileExists(atPath: t.path + "/var/.fastbackup-rollback-media.journal") { continue }
            landed += 1
            XCTAssertEqual(leftovers(t.path + "/pub"), [], "the signal clean-up must remove the staging folder")
        }
        if landed == 0 { throw XCTSkip("the signal never landed during staging on this machine") }
    }
}
