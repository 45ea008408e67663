import Foundation
import XCTest
import TestSupport

/// `setup:rollback -c/-m`: round trips, refusals, and the live tree surviving bad archives.
final class RollbackCommandTests: XCTestCase {
    func makeStore() throws -> TempTree { try makeSmallStore() }

    func backup(_ t: TempTree, _ kind: String) throws -> String {
        let r = try fastbackup(["setup:backup", "--\(kind)", "--root", t.path, "--no-maintenance"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let title = kind == "code" ? "Code" : "Media"
        return try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("\(title) backup path: ") }
            .map { String($0.dropFirst("\(title) backup path: ".count)) })
    }

    func testNoFileAndBadFileMessages() throws {
        let t = try makeStore()
        var r = try fastbackup(["setup:rollback", "--root", t.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "Not enough information provided to roll back.\n")
        r = try fastbackup(["setup:rollback", "-n", "-c", "123_filesystem_code.tgz", "--root", t.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "The rollback file doesn't exist. Verify the file and try again.\n")
        try t.file("var/backups/123_db.sql", "SELECT 1;")
        r = try fastbackup(["setup:rollback", "-n", "--code-file=123_db.sql", "--root", t.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "The rollback file is invalid. Verify the file and try again.\n")
    }

    func testMediaRoundTripRestoresEverythingAndKeepsBackup() throws {
        let t = try makeStore()
        let before = try manifest(t.path + "/pub/media")
        let archive = try backup(t, "media")
        try sh("cd '\(t.path)/pub/media' && rm -rf catalog && echo new > added.txt && chmod 700 wysiwyg")
        let r = try fastbackup(["setup:rollback", "-n", "-m", (archive as NSString).lastPathComponent, "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.split(separator: "\n").map(String.init), [
            "Enabling maintenance mode", "Media rollback is starting ...",
            "Media rollback filename: \((archive as NSString).lastPathComponent)", "Media rollback file path: \(archive)",
            "[SUCCESS]: Media rollback completed successfully.", "Disabling maintenance mode",
        ])
        XCTAssertEqual(try manifest(t.path + "/pub/media"), before)
        XCTAssertTrue(FileManager.default.fileExists(atPath: archive), "the backup must be kept")
        var a = stat(), b = stat()
        stat(t.path + "/pub/media/wysiwyg/w.png", &a)
        stat(t.path + "/pub/media/wysiwyg/w-hardlink.png", &b)
        XCTAssertEqual(a.st_ino, b.st_ino, "hard links come back as links")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: t.path + "/pub").filter { $0.hasPrefix(".fastbackup") }
        XCTAssertEqual(leftovers, [])
    }

    func testCodeRoundTripRemovesExtrasAndKeepsExcludedPaths() throws {
        let t = try makeStore()
        let excluded = ["pub/media", "pub/static", "var"]
        let before = try manifest(t.path, excluding: excluded)
        let media = try manifest(t.path + "/pub/media")
        let archive = try backup(t, "code")
        try sh("cd '\(t.path)' && echo extra > app/code/V/M/extra.php && echo changed > app/etc/di.xml && rm bin/magento && mkdir newdir && echo x > var/log/new.log")
        let r = try fastbackup(["setup:rollback", "-n", "-c", archive, "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try manifest(t.path, excluding: excluded), before)
        XCTAssertEqual(try manifest(t.path + "/pub/media"), media)
        XCTAssertEqual(try String(contentsOfFile: t.path + "/pub/static/keep.css", encoding: .utf8), "static stays")
        XCTAssertEqual(try String(contentsOfFile: t.path + "/var/log/new.log", encoding: .utf8), "x\n")
    }

    /// The trees a rollback replaces are deleted after maintenance mode is off (the store is up
    /// meanwhile), before the command ends, and none is left behind.
    func testReplacedTreesAreRemovedAfterMaintenanceEnds() throws {
        let t = try makeStore()
        let code = try backup(t, "code")
        let media = try backup(t, "media")
        // One stream, in the order written (both go out with write(2), unbuffered).
        let out = try sh("'\(fastbackupBinary)' setup:rollback -n -v -c '\(code)' -m '\(media)' --root '\(t.path)' 2>&1")
        let lines = out.split(separator: "\n").map(String.init)
        let disabled = try XCTUnwrap(lines.firstIndex(of: "Disabling maintenance mode"), out)
        let removedCode = try XCTUnwrap(lines.firstIndex { $0.contains("removed the replaced code tree") }, out)
        let removedMedia = try XCTUnwrap(lines.firstIndex { $0.contains("removed the replaced media tree") }, out)
        XCTAssertLessThan(disabled, removedCode, out)
        XCTAssertLessThan(disabled, removedMedia, out)
        for dir in [t.path, t.path + "/pub"] {
            let left = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".fastbackup-") }
            XCTAssertEqual(left, [], "in \(dir)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/var/.maintenance.flag"))
    }

    /// A tree replaced by a rollback that stopped before deleting it is removed by the next run,
    /// which says what it is.
    func testLeftoverReplacedTreeIsRemovedByNextRun() throws {
        let t = try makeStore()
        let code = try backup(t, "code")
        try sh("mkdir -p '\(t.path)/.fastbackup-old-code-99999/app' && echo old > '\(t.path)/.fastbackup-old-code-99999/app/x.php'")
        let r = try fastbackup(["setup:rollback", "-n", "-c", code, "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains(".fastbackup-old-code-99999: the tree an earlier rollback replaced"), r.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/.fastbackup-old-code-99999"))
    }

    /// Corrupt and truncated archives must leave the live tree exactly as it was.
    func testCorruptAndTruncatedArchivesLeaveLiveTreeUntouched() throws {
        let t = try makeStore()
        try sh("head -c 3000000 /dev/urandom > '\(t.path)/pub/media/big.bin'")
        let archive = try backup(t, "media")
        try sh("echo live-change > '\(t.path)/pub/media/live.txt'")
        let live = try manifest(t.path + "/pub/media")
        let size = Int(try sh("stat -c %s '\(archive)'").trimmingCharacters(in: .whitespacesAndNewlines))!
        let cases: [(String, String)] = [
            ("truncated", "head -c \(size / 2) '\(archive)' > '\(t.path)/var/backups/1_filesystem_media.tgz'"),
            ("corrupt", "cp '\(archive)' '\(t.path)/var/backups/2_filesystem_media.tgz' && printf 'XXXXXXXX' | dd of='\(t.path)/var/backups/2_filesystem_media.tgz' bs=1 seek=\(size * 2 / 3) conv=notrunc 2>/dev/null"),
            ("garbage", "head -c 100000 /dev/urandom > '\(t.path)/var/backups/3_filesystem_media.tgz'"),
        ]
        for (index, (label, script)) in cases.enumerated() {
            try sh(script)
            let r = try fastbackup(["setup:rollback", "-n", "-m", "\(index + 1)_filesystem_media.tgz", "--root", t.path])
            XCTAssertEqual(r.status, 1, "\(label): \(r.stdout)")
            XCTAssertFalse(r.stderr.isEmpty, label)
            XCTAssertEqual(try manifest(t.path + "/pub/media"), live, "\(label) archive changed the live tree")
            XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/var/.maintenance.flag"), label)
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: t.path + "/pub").filter { $0.hasPrefix(".fastbackup") }
            XCTAssertEqual(leftovers, [], label)
        }
    }

    /// A damaged CRC in the last gzip member's trailer is refused by the staged rollback and by
    /// `--in-place` alike: both read the compressed stream to its end, past the tar trailer.
    /// Fixture: `tar -czf 7_filesystem_media.tgz pub/media` (one gzip member, GNU tar's padding
    /// after the trailer), then the trailer's first CRC byte flipped (`size - 8`).
    func testDamagedLastCRCIsRefusedStagedAndInPlace() throws {
        try requireTool("tar")
        let t = try makeStore()
        try sh("head -c 3000000 /dev/urandom > '\(t.path)/pub/media/big.bin'")
        let archive = t.path + "/var/backups/7_filesystem_media.tgz"
        try sh("cd '\(t.path)' && tar -czf '\(archive)' pub/media")
        let size = Int(try sh("stat -c %s '\(archive)'").trimmingCharacters(in: .whitespacesAndNewlines))!
        try sh("python3 -c \"import sys; f=open(sys.argv[1],'r+b'); f.seek(\(size - 8)); b=f.read(1); f.seek(\(size - 8)); f.write(bytes([b[0]^0xff]))\" '\(archive)'")
        XCTAssertNotEqual(try runProcess(["/bin/gzip", "-t", archive]).status, 0, "the fixture's CRC is not damaged")
        try sh("echo live-change > '\(t.path)/pub/media/live.txt'")
        let live = try manifest(t.path + "/pub/media")

        let staged = try fastbackup(["setup:rollback", "-n", "-m", "7_filesystem_media.tgz", "--root", t.path])
        XCTAssertEqual(staged.status, 1, staged.stdout)
        XCTAssertTrue(staged.stderr.lowercased().contains("crc"), staged.stderr)
        XCTAssertEqual(try manifest(t.path + "/pub/media"), live, "a staged rollback of a damaged archive changed the live tree")

        let inPlace = try fastbackup(["setup:rollback", "-n", "--in-place", "-m", "7_filesystem_media.tgz", "--root", t.path])
        XCTAssertEqual(inPlace.status, 1, "--in-place reported a damaged archive as restored: \(inPlace.stdout)")
        XCTAssertTrue(inPlace.stderr.lowercased().contains("crc"), inPlace.stderr)
        XCTAssertFalse(inPlace.stdout.contains("rollback completed successfully"), inPlace.stdout)
    }

    /// Archives made with Python's tarfile (the real module, as an attacker would), each refused whole.
    func testTraversalAndSymlinkEscapeArchivesAreRefused() throws {
        try requireTool("python3")
        let t = try makeStore()
        let live = try manifest(t.path + "/pub/media")
        let outside = try TempTree("outside")
        let cases: [(String, String)] = [
            ("absolute", "add('/tmp/evil-absolute.txt', b'x')"),
            ("dotdot", "add('pub/media/../../evil.txt', b'x')"),
            ("symlink-then-write", "link('pub/media/escape', '\(outside.path)'); add('pub/media/escape/pwned.txt', b'x')"),
            ("hardlink-outside", "hard('pub/media/h', '../../../etc/passwd')"),
        ]
        for (i, (label, body)) in cases.enumerated() {
            let name = "\(10 + i)_filesystem_media.tgz"
            try sh("""
            python3 - <<'PY'
            import io, tarfile
            t = tarfile.open('\(t.path)/var/backups/\(name)', 'w:gz')
            def add(n, data):
                ti = tarfile.TarInfo(n); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
            def link(n, target):
                ti = tarfile.TarInfo(n); ti.type = tarfile.SYMTYPE; ti.linkname = target; t.addfile(ti)
            def hard(n, target):
                ti = tarfile.TarInfo(n); ti.type = tarfile.LNKTYPE; ti.linkname = target; t.addfile(ti)
            add('pub/media/ok.txt', b'fine')
            \(body)
            t.close()
            PY
            """)
            let r = try fastbackup(["setup:rollback", "-n", "-m", name, "--root", t.path])
            XCTAssertEqual(r.status, 1, "\(label): \(r.stdout)")
            XCTAssertTrue(r.stderr.contains("refused"), "\(label): \(r.stderr)")
            XCTAssertEqual(try manifest(t.path + "/pub/media"), live, label)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside.path), [], label)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/tmp/evil-absolute.txt"))
    }

    func testWorksUnderUlimitN32() throws {
        let t = try makeStore()
        try sh("cd '\(t.path)/pub/media' && mkdir many && for i in $(seq 1 300); do echo $i > many/f$i.txt; done")
        let before = try manifest(t.path + "/pub/media")
        let archive = try backup(t, "media")
        try sh("rm -rf '\(t.path)/pub/media/many'")
        let r = try runProcess(["/bin/bash", "-c", "ulimit -n 32; exec '\(fastbackupBinary)' setup:rollback -n -m '\(archive)' --root '\(t.path)'"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try manifest(t.path + "/pub/media"), before)
        try sh("rm -f '\(t.path)'/var/backups/*")
        let b = try runProcess(["/bin/bash", "-c", "ulimit -n 32; exec '\(fastbackupBinary)' setup:backup --media --no-maintenance --root '\(t.path)'"])
        XCTAssertEqual(b.status, 0, b.stderr)
    }

    /// `--compression zstd` writes `<ts>_filesystem_media.tar.zst`, which zstd and tar read and
    /// which rolls back like a .tgz.
    func testZstdBackupRoundTrip() throws {
        try requireTool("zstd")
        let t = try makeStore()
        let before = try manifest(t.path + "/pub/media")
        let r = try fastbackup(["setup:backup", "--media", "--compression", "zstd", "--root", t.path, "--no-maintenance"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let name = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups").first { $0.hasSuffix("_filesystem_media.tar.zst") })
        let listing = try sh("zstd -dc '\(t.path)/var/backups/\(name)' | tar -tvf -")
        XCTAssertTrue(listing.contains("pub/media/catalog/product/a/b/ab.jpg"), listing)
        try sh("rm -rf '\(t.path)/pub/media/catalog'")
        let rb = try fastbackup(["setup:rollback", "-n", "-m", name, "--root", t.path])
        XCTAssertEqual(rb.status, 0, rb.stderr)
        XCTAssertEqual(try manifest(t.path + "/pub/media"), before)
        let list = try fastbackup(["info:backups:list", "--root", t.path])
        XCTAssertTrue(list.stdout.contains(name) && list.stdout.contains("| media "), list.stdout)
    }

    /// What a backup left out with `--exclude` is recorded in the archive, so its rollback
    /// leaves those paths alone instead of removing them as "not in the archive".
    func testExcludedPathsSurviveTheCodeRollback() throws {
        let t = try makeStore()
        try t.file("exports/report.csv", "keep me\n")
        try t.file("app/code/V/M/big.bin", "binary blob\n")
        let r = try fastbackup(["setup:backup", "--code", "--exclude", "exports", "--exclude", "*.bin", "--root", t.path, "--no-maintenance"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let archive = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("Code backup path: ") }.map { String($0.dropFirst("Code backup path: ".count)) })
        let listing = try sh("tar -tzf '\(archive)'")
        XCTAssertFalse(listing.contains("exports") || listing.contains("big.bin"), listing)
        try sh("echo changed > '\(t.path)/app/code/V/M/a.php' && echo extra > '\(t.path)/app/code/V/M/extra.php'")
        let rb = try fastbackup(["setup:rollback", "-n", "-c", archive, "--root", t.path])
        XCTAssertEqual(rb.status, 0, rb.stderr)
        XCTAssertEqual(try String(contentsOfFile: t.path + "/exports/report.csv", encoding: .utf8), "keep me\n")
        XCTAssertEqual(try String(contentsOfFile: t.path + "/app/code/V/M/big.bin", encoding: .utf8), "binary blob\n")
        XCTAssertEqual(try String(contentsOfFile: t.path + "/app/code/V/M/a.php", encoding: .utf8), "<?php // a\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/app/code/V/M/extra.php"))
    }

    /// `--in-place` extracts over the live tree, Magento's way, for a disk too full to stage.
    func testInPlaceRollbackRestoresOverLiveTree() throws {
        let t = try makeStore()
        let before = try manifest(t.path + "/pub/media")
        let archive = try backup(t, "media")
        try sh("cd '\(t.path)/pub/media' && rm -rf catalog && echo changed > wysiwyg/w.png && ln -sf /etc empty-link")
        let r = try fastbackup(["setup:rollback", "-n", "--in-place", "-m", archive, "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        var now = try manifest(t.path + "/pub/media")
        XCTAssertNotNil(now.removeValue(forKey: "empty-link"), "in place, files the archive does not hold stay")
        XCTAssertEqual(now, before)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: t.path + "/pub").filter { $0.hasPrefix(".fastbackup") }
        XCTAssertEqual(leftovers, [])
    }

    func testFileLargerThanUlimitFIsAClearError() throws {
        let t = try makeStore()
        try sh("head -c 3000000 /dev/zero > '\(t.path)/pub/media/big.bin'")
        let live = try manifest(t.path + "/pub/media")
        let archive = try backup(t, "media")
        let r = try runProcess(["/bin/bash", "-c", "ulimit -f 1000; exec '\(fastbackupBinary)' setup:rollback -n -m '\(archive)' --root '\(t.path)'"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("big.bin") && r.stderr.contains("ulimit -f"), r.stderr)
        XCTAssertEqual(try manifest(t.path + "/pub/media"), live)
    }

    /// GNU tar in each format, and tar | pigz, as Magento admins' older backups are made.
    func testForeignArchivesRestore() throws {
        try requireTool("tar")
        try requireTool("pigz")
        let t = try makeStore()
        let before = try manifest(t.path + "/pub/media")
        let commands = [
            "tar --format=oldgnu -czf '%@' -C '\(t.path)' pub/media",
            "tar --format=gnu -czf '%@' -C '\(t.path)' pub/media",
            "tar --format=pax -czf '%@' -C '\(t.path)' pub/media",
            "tar -cf - -C '\(t.path)' pub/media | pigz -6 > '%@'",
            "tar --format=gnu -cf - -C '\(t.path)' pub/media | gzip -9 > '%@'",
        ]
        for (i, command) in commands.enumerated() {
            let file = "\(t.path)/var/backups/\(20 + i)_filesystem_media.tgz"
            try sh(command.replacingOccurrences(of: "%@", with: file))
            try sh("rm -rf '\(t.path)/pub/media/catalog'")
            let r = try fastbackup(["setup:rollback", "-n", "-m", file, "--root", t.path])
            XCTAssertEqual(r.status, 0, "\(command): \(r.stderr)")
            XCTAssertEqual(try manifest(t.path + "/pub/media"), before, command)
        }
    }

    /// A kill -9 during extraction leaves the live tree as it was, and the next run cleans up.
    func testKillDuringExtractionLeavesLiveTreeAndNextRunCleansUp() throws {
        let t = try makeStore()
        try sh("cd '\(t.path)/pub/media' && mkdir bulk && for i in $(seq 1 40); do head -c 2000000 /dev/urandom > bulk/f$i.bin; done")
        let archive = try backup(t, "media")
        try sh("rm -rf '\(t.path)/pub/media/bulk' && echo live > '\(t.path)/pub/media/live.txt'")
        let live = try manifest(t.path + "/pub/media")
        // Killed once the first big file is being staged, well before the swap.
        try sh("'\(fastbackupBinary)' setup:rollback -n -j 1 -m '\(archive)' --root '\(t.path)' --no-maintenance >/dev/null 2>&1 & pid=$!; for i in $(seq 1 500); do ls '\(t.path)'/pub/.fastbackup-staging-*/media/bulk/f1.bin >/dev/null 2>&1 && break; sleep 0.005; done; kill -9 $pid; wait $pid || true")
        if FileManager.default.fileExists(atPath: t.path + "/var/.fastbackup-rollback-media.journal") {
            // The kill landed inside the swap after all; the next run must finish it (checked below).
            print("note: the kill landed during the swap; checking recovery only")
        } else {
            XCTAssertEqual(try manifest(t.path + "/pub/media"), live)
        }
        let r = try fastbackup(["setup:rollback", "-n", "-m", archive, "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: t.path + "/pub").filter { $0.hasPrefix(".fastbackup") }
        XCTAssertEqual(leftovers, [])
        XCTAssertTrue(FileManager.default.fileExists(atPath: t.path + "/pub/media/bulk/f40.bin"))
    }

    /// The state a media rollback killed mid-swap leaves: the live tree moved aside, the staged
    /// one (the archive, extracted) not yet moved in, and the journal that lists the renames.
    private func stopMidSwap(_ t: TempTree, archive: String) throws {
        try sh("""
        cd '\(t.path)/pub' && mkdir .fastbackup-staging-media-1 .fastbackup-old-media-1 && \
        tar -xzf '\(archive)' -C .fastbackup-staging-media-1 --strip-components=1 && mv media .fastbackup-old-media-1/media
        """)
        let journal: [String: Any] = [
            "kind": "media", "liveBase": Array((t.path + "/pub").utf8).map(Int.init),
            "stagingBase": Array((t.path + "/pub/.fastbackup-staging-media-1").utf8).map(Int.init),
            "oldBase": Array((t.path + "/pub/.fastbackup-old-media-1").utf8).map(Int.init),
            "units": [["path": Array("media".utf8).map(Int.init), "staged": true]],
        ]
        try JSONSerialization.data(withJSONObject: journal).write(to: URL(fileURLWithPath: t.path + "/var/.fastbackup-rollback-media.journal"))
    }

    /// A journal left by a kill in the middle of the swap is finished by the next run.
    func testInterruptedSwapIsFinishedByNextRun() throws {
        let t = try makeStore()
        let archive = try backup(t, "media")
        let expected = try manifest(t.path + "/pub/media")
        try stopMidSwap(t, archive: archive)
        let r = try fastbackup(["info:backups:list", "--root", t.path])
        XCTAssertEqual(r.status, 0)
        let again = try fastbackup(["setup:rollback", "-n", "-m", archive, "--root", t.path])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.contains("was interrupted while swapping"), again.stdout)
        XCTAssertEqual(try manifest(t.path + "/pub/media"), expected)
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/var/.fastbackup-rollback-media.journal"))
    }

    /// A backup taken while a killed rollback's swap is half done would miss the tree set aside
    /// (and a later rollback to it would delete that tree): the backup finishes the swap first.
    func testBackupFinishesAnInterruptedSwapFirst() throws {
        let t = try makeStore()
        let archive = try backup(t, "media")
        let expected = try manifest(t.path + "/pub/media")
        try stopMidSwap(t, archive: archive)
        // Out of the way of the new backup's name, which may fall in the same second.
        try sh("mv '\(archive)' '\(t.path)/var/backups/1_filesystem_media.tgz'")
        let r = try fastbackup(["setup:backup", "--media", "--root", t.path, "--no-maintenance"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("was interrupted while swapping"), r.stdout)
        XCTAssertEqual(try manifest(t.path + "/pub/media"), expected)
        let made = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("Media backup path: ") }
            .map { String($0.dropFirst("Media backup path: ".count)) })
        let listed = try sh("tar -tzf '\(made)' | grep -c 'pub/media/catalog/product/a/b/ab.jpg'")
        XCTAssertEqual(listed.trimmingCharacters(in: .whitespacesAndNewlines), "1", "the backup misses the set-aside tree")
        XCTAssertEqual(try sh("ls -a '\(t.path)/pub' | grep -c fastbackup || true").trimmingCharacters(in: .whitespacesAndNewlines), "0")
    }

    func testConfirmationDeclinedChangesNothing() throws {
        let t = try makeStore()
        let archive = try backup(t, "media")
        try sh("echo live > '\(t.path)/pub/media/live.txt'")
        let live = try manifest(t.path + "/pub/media")
        for answer in ["", "n\n", "no\n", "maybe\n"] {
            let r = try fastbackup(["setup:rollback", "-m", archive, "--root", t.path], input: answer)
            XCTAssertEqual(r.status, 1)
            XCTAssertTrue(r.stdout.hasPrefix("You are about to remove current code and/or database tables. Are you sure?[y/N]"))
            XCTAssertEqual(try manifest(t.path + "/pub/media"), live)
        }
        let r = try fastbackup(["setup:rollback", "-m", archive, "--root", t.path], input: "y\n")
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/pub/media/live.txt"))
    }
}

/// Process limits a rollback and a backup must live within.
final class ResourceLimitTests: XCTestCase {
    func testBackupAndRollbackUnderUlimitV1GiB() throws {
        let t = try makeSmallStore()
        try sh("head -c 20000000 /dev/urandom > '\(t.path)/pub/media/big.bin'")
        let before = try manifest(t.path + "/pub/media")
        let b = try runProcess(["/bin/bash", "-c", "ulimit -v 1048576; exec '\(fastbackupBinary)' setup:backup --media --no-maintenance --root '\(t.path)'"])
        XCTAssertEqual(b.status, 0, b.stderr)
        let archive = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups").first { $0.hasSuffix("_media.tgz") })
        try sh("rm -rf '\(t.path)/pub/media/catalog'")
        let r = try runProcess(["/bin/bash", "-c", "ulimit -v 1048576; exec '\(fastbackupBinary)' setup:rollback -n -m '\(archive)' --root '\(t.path)'"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try manifest(t.path + "/pub/media"), before)
    }

    /// RLIMIT_NPROC binds an ordinary user (root is exempt), so this runs as nobody.
    func testRollbackFitsASmallProcessLimit() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to run the rollback as another user (setpriv)") }
        try requireTool("setpriv")
        let t = try makeSmallStore()
        try sh("chown -R 65534:65534 '\(t.path)' && chmod 755 '\(t.path)/..'")
        let before = try manifest(t.path + "/pub/media")
        let b = try fastbackup(["setup:backup", "--media", "--no-maintenance", "--root", t.path])
        XCTAssertEqual(b.status, 0, b.stderr)
        try sh("chown -R 65534:65534 '\(t.path)/var' && rm -rf '\(t.path)/pub/media/catalog'")
        let r = try runProcess(["/bin/bash", "-c", "ulimit -u 12; exec setpriv --reuid=65534 --regid=65534 --clear-groups '\(fastbackupBinary)' setup:rollback -n -v -m \"$(ls '\(t.path)/var/backups' | grep media)\" --root '\(t.path)'"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("RLIMIT_NPROC 12"), r.stderr)
        var expected = before
        for (k, v) in before where v.hasPrefix("f 4755") { expected[k] = "f 755" + v.dropFirst(6) } // setuid is dropped for non-root
        XCTAssertEqual(try manifest(t.path + "/pub/media"), expected)
    }
}

/// Signals during a backup: the temporary file and the maintenance flag go, nothing looks finished.
final class SignalTests: XCTestCase {
    func testSigtermDuringBackupCleansUp() throws {
        let t = try makeSmallStore()
        try sh("cd '\(t.path)/pub/media' && mkdir bulk && for i in $(seq 1 60); do head -c 3000000 /dev/urandom > bulk/f$i.bin; done")
        for sig in ["TERM", "INT"] {
            // `set -m`: without job control a script's `&` job starts with SIGINT ignored, and
            // fastbackup keeps an ignored signal ignored, as every program does.
            let r = try runProcess(["/bin/bash", "-c", """
            set -m
            '\(fastbackupBinary)' setup:backup --media --root '\(t.path)' --level 9 >/dev/null 2>&1 & pid=$!
            for i in $(seq 1 500); do ls '\(t.path)'/var/backups/.*.partial >/dev/null 2>&1 && break; sleep 0.01; done
            kill -\(sig) $pid; wait $pid; echo "exit=$?"
            """])
            let code = sig == "TERM" ? 143 : 130
            XCTAssertTrue(r.stdout.contains("exit=\(code)"), "\(sig): \(r.stdout) \(r.stderr)")
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups"), [], sig)
            XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/var/.maintenance.flag"), sig)
        }
    }
}

/// A small store with the cases a restore must bring back: modes (setuid too), a symlink, a
/// hard link, an empty folder, mtimes before 1970 and after 2038.
func makeSmallStore() throws -> TempTree {
    let t = try TempTree("store")
    try t.file("app/etc/di.xml", "<config/>\n")
    try t.file("app/code/V/M/a.php", "<?php // a\n")
    try t.file("bin/magento", "#!/usr/bin/env php\n", mode: 0o755)
    try t.file("pub/index.php", "<?php // index\n")
    try t.file("pub/static/keep.css", "static stays")
    try t.file("var/log/x.log", "var stays")
    try t.file("pub/media/catalog/product/a/b/ab.jpg", String(repeating: "jpeg", count: 5000), mode: 0o600)
    try t.file("pub/media/wysiwyg/w.png", "png")
    try t.file("pub/media/suid-like", "x", mode: 0o4755)
    try t.dir("pub/media/empty")
    try t.dir("var/backups")
    symlink("catalog/product/a/b/ab.jpg", t.path + "/pub/media/alias.jpg")
    link(t.path + "/pub/media/wysiwyg/w.png", t.path + "/pub/media/wysiwyg/w-hardlink.png")
    if geteuid() == 0 { try sh("chown 1234:5678 '\(t.path)/pub/media/wysiwyg' '\(t.path)/app/etc/di.xml' && chown -h 4321:8765 '\(t.path)/pub/media/alias.jpg'") }
    try sh("touch -d '1969-07-20 20:17:40' '\(t.path)/pub/media/wysiwyg/w.png' && touch -d '2040-01-01' '\(t.path)/app/etc/di.xml'")
    return t
}

