import Foundation
import TestSupport
import XCTest

/// `setup:backup --incremental` and the chains it makes: only changed files stored, every
/// state of the tree back exactly (deletions included), and a broken chain named before
/// anything is staged. Stores are made by makeSmallStore() and the shell lines each test runs.
final class IncrementalBackupTests: XCTestCase {
    /// Runs a backup and returns the name of the file it wrote.
    private func backup(_ t: TempTree, _ kind: String, _ extra: [String] = []) throws -> String {
        (try takeBackup(t, kind, extra) as NSString).lastPathComponent
    }

    private func entries(_ t: TempTree, _ name: String) throws -> [String] {
        try sh("tar -tzf '\(t.path)/var/backups/\(name)'").split(separator: "\n").map(String.init)
    }

    /// A full backup and five incrementals, each after a different kind of change (content,
    /// new files, deletions of a file and of a folder, chmod, a symlink retargeted, a rename,
    /// a hard link); rolling back to each of the six gives that moment's tree exactly, from any
    /// starting state. Each incremental holds only the files changed since the one before
    /// (plus folders, links and its record), and GNU tar and gzip read it.
    func testEveryBackupOfAChainRestoresItsTreeExactly() throws {
        try requireTool("tar")
        let t = try makeSmallStore()
        try sh("cd '\(t.path)/pub/media' && mkdir -p catalog/product/c && for i in $(seq 1 40); do head -c $((i * 977)) /dev/urandom > catalog/product/c/img$i.jpg; done")
        let media = t.path + "/pub/media"
        var names = [try backup(t, "media", ["--incremental"])]
        var states = [try manifest(media)]
        XCTAssertFalse(names[0].contains(".incr."), "the first backup of a chain is a full one")
        let changes: [(script: String, stored: [String])] = [
            ("echo changed > catalog/product/c/img3.jpg && echo new > catalog/new.txt", ["catalog/product/c/img3.jpg", "catalog/new.txt"]),
            ("rm catalog/product/c/img4.jpg && rm -r catalog/product/a", []),
            ("chmod 600 catalog/product/c/img5.jpg && ln -sfn wysiwyg/w.png alias.jpg", ["catalog/product/c/img5.jpg"]),
            ("mv catalog/product/c/img6.jpg catalog/product/c/img6-renamed.jpg && touch -d '2001-01-01' catalog/product/c/img7.jpg", ["catalog/product/c/img6-renamed.jpg", "catalog/product/c/img7.jpg"]),
            ("head -c 5000 /dev/urandom > catalog/product/c/img8.jpg && ln catalog/product/c/img9.jpg catalog/product/c/img9-link.jpg", ["catalog/product/c/img8.jpg", "catalog/product/c/img9.jpg", "catalog/product/c/img9-link.jpg"]),
        ]
        for change in changes {
            _ = try sh("cd '\(media)' && \(change.script)")
            let name = try backup(t, "media", ["--incremental"])
            XCTAssertTrue(name.hasSuffix("_filesystem_media.incr.tgz"), name)
            // Regular files stored: exactly the changed ones, plus the hard-linked pair that
            // every incremental carries (w.png and its link in the small store).
            let files = try sh("tar -tzvf '\(t.path)/var/backups/\(name)' | awk '$1 ~ /^-/ || $1 ~ /^h/ {print $6}'")
                .split(separator: "\n").map(String.init).filter { $0.hasPrefix("pub/media/") }.map { String($0.dropFirst(10)) }
            XCTAssertEqual(Set(files), Set(change.stored + ["wysiwyg/w.png", "wysiwyg/w-hardlink.png"]), change.script)
            _ = try sh("gzip -t '\(t.path)/var/backups/\(name)'")
            names.append(name)
            states.append(try manifest(media))
        }
        for (i, name) in names.enumerated().reversed() + names.enumerated().map({ $0 }) {
            let r = try fastbackup(["setup:rollback", "-m", name, "-n", "--no-maintenance", "--root", t.path])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try manifest(media), states[i], "rollback to backup \(i) (\(name))")
        }
        let verify = try fastbackup(["info:backups:verify", "--all", "--root", t.path])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        XCTAssertTrue(verify.stdout.contains("its chain of 6 backups is whole"), verify.stdout)
    }

    /// A code chain: only the changed PHP file is stored; the rollback brings back a deleted
    /// file and removes an added one, leaving pub/media and var alone as a code rollback does.
    func testCodeChainRestoresDeletionsAndAdditions() throws {
        let t = try makeSmallStore()
        let full = try backup(t, "code", ["--incremental"])
        let before = try manifest(t.path, excluding: ["var", "pub/media"])
        let media = try manifest(t.path + "/pub/media")
        try sh("cd '\(t.path)' && echo '<?php // changed' > app/code/V/M/a.php && rm bin/magento && echo x > app/added.php")
        let incr = try backup(t, "code", ["--incremental"])
        XCTAssertTrue(incr.hasSuffix("_filesystem_code.incr.tgz"), incr)
        let stored = try entries(t, incr).filter { !$0.hasSuffix("/") }
        XCTAssertEqual(Set(stored), ["var/.fastbackup/backup.json", "app/code/V/M/a.php", "app/added.php", "var/.fastbackup/record.txt"])
        let after = try manifest(t.path, excluding: ["var", "pub/media"])
        let back = try fastbackup(["setup:rollback", "-c", full, "-n", "--no-maintenance", "--root", t.path])
        XCTAssertEqual(back.status, 0, back.stderr)
        XCTAssertEqual(try manifest(t.path, excluding: ["var", "pub/media"]), before)
        let forward = try fastbackup(["setup:rollback", "-c", incr, "-n", "--no-maintenance", "--root", t.path])
        XCTAssertEqual(forward.status, 0, forward.stderr)
        XCTAssertEqual(try manifest(t.path, excluding: ["var", "pub/media"]), after)
        XCTAssertEqual(try manifest(t.path + "/pub/media"), media)
    }

    /// A chain whose full backup was deleted, or replaced by another backup of the same name,
    /// is refused before staging, naming that backup; the live tree is not touched, and
    /// verify reports the same. The next --incremental starts a new full backup and says why.
    func testBrokenChainIsNamedAndNothingIsTouched() throws {
        let t = try makeSmallStore()
        let full = try backup(t, "media", ["--incremental"])
        try sh("echo v2 > '\(t.path)/pub/media/wysiwyg/new.txt'")
        let incr = try backup(t, "media", ["--incremental"])
        try sh("echo v3 > '\(t.path)/pub/media/wysiwyg/later.txt'")
        let live = try manifest(t.path + "/pub/media")
        let backups = t.path + "/var/backups/"

        // Replaced: another full backup under the same name.
        try sh("mv '\(backups)\(full)' '\(t.path)/kept.tgz'")
        // Another second, so the replacement is made under a name of its own first.
        while "\(time(nil))" == String(full.prefix { $0 != "_" }) { usleep(50_000) }
        let other = try backup(t, "media")
        try sh("mv '\(backups)\(other)' '\(backups)\(full)'")
        var r = try fastbackup(["setup:rollback", "-m", incr, "-n", "--no-maintenance", "--root", t.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains(full) && r.stderr.contains("not the backup it was built on"), r.stderr)
        XCTAssertEqual(try manifest(t.path + "/pub/media"), live)
        XCTAssertEqual(try sh("ls -A '\(t.path)' | grep -c fastbackup || true"), "0\n", "a staging folder was made")
        r = try fastbackup(["info:backups:verify", incr, "--root", t.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stdout.contains("DAMAGED") && r.stdout.contains(full), r.stdout)

        // Missing.
        try sh("rm '\(backups)\(full)'")
        r = try fastbackup(["setup:rollback", "-m", incr, "-n", "--no-maintenance", "--root", t.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("\(full), is missing"), r.stderr)
        XCTAssertEqual(try manifest(t.path + "/pub/media"), live)
        r = try fastbackup(["setup:backup", "--media", "--incremental", "--no-maintenance", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Media backup is a full one: \(incr) cannot be built on"), r.stdout)

        // Back in place: the chain is whole again.
        try sh("mv '\(t.path)/kept.tgz' '\(backups)\(full)'")
        r = try fastbackup(["info:backups:verify", incr, "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
    }

    /// An archive named incremental without a readable record (here: its content recompressed
    /// as one plain gzip member, which drops the index) is refused, never restored as a tree.
    func testIncrementalWithoutRecordIsRefused() throws {
        let t = try makeSmallStore()
        _ = try backup(t, "media", ["--incremental"])
        try sh("echo v2 > '\(t.path)/pub/media/wysiwyg/new.txt'")
        let incr = try backup(t, "media", ["--incremental"])
        let path = t.path + "/var/backups/" + incr
        try sh("gzip -dc '\(path)' | gzip -c > '\(path).plain' && mv '\(path).plain' '\(path)'")
        let live = try manifest(t.path + "/pub/media")
        let r = try fastbackup(["setup:rollback", "-m", incr, "-n", "--no-maintenance", "--root", t.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("named as an incremental backup"), r.stderr)
        XCTAssertEqual(try manifest(t.path + "/pub/media"), live)
        let v = try fastbackup(["info:backups:verify", incr, "--root", t.path])
        XCTAssertNotEqual(v.status, 0, v.stdout)
    }

    /// --full-every 3: full, incremental, incremental, then a new full backup; list shows each
    /// incremental's base and --json its chain.
    func testFullEveryBoundsTheChainAndListShowsIt() throws {
        let t = try makeSmallStore()
        var names: [String] = []
        for i in 0..<4 {
            try sh("echo \(i) > '\(t.path)/pub/media/wysiwyg/n\(i).txt'")
            names.append(try backup(t, "media", ["--incremental", "--full-every", "3"]))
        }
        XCTAssertEqual(names.map { $0.contains(".incr.") }, [false, true, true, false])
        let list = try fastbackup(["info:backups:list", "--root", t.path])
        XCTAssertTrue(list.stdout.contains("Incremental On"), list.stdout)
        let row = try XCTUnwrap(list.stdout.split(separator: "\n").first { $0.contains(names[2]) })
        XCTAssertTrue(row.contains(names[1]), String(row))
        let json = try JSONSerialization.jsonObject(with: Data(try fastbackup(["info:backups:list", "--json", "--root", t.path]).stdout.utf8)) as? [String: Any]
        let rows = try XCTUnwrap(json?["backups"] as? [[String: Any]])
        let third = try XCTUnwrap(rows.first { $0["file"] as? String == names[2] })
        XCTAssertEqual(third["chain"] as? [String], Array(names[0...2]))
        XCTAssertEqual(third["base"] as? String, names[1])
        XCTAssertNil(rows.first { $0["file"] as? String == names[3] }?["chain"])
    }

    /// --keep 1 after an incremental keeps the full backup it builds on (and says so).
    func testKeepDoesNotBreakAKeptChain() throws {
        let t = try makeSmallStore()
        let full = try backup(t, "media", ["--incremental"])
        try sh("echo x > '\(t.path)/pub/media/wysiwyg/x.txt'")
        let r = try fastbackup(["setup:backup", "--media", "--incremental", "--keep", "1", "--no-maintenance", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Kept the old backup") && r.stdout.contains(full), r.stdout)
        XCTAssertTrue(FileManager.default.fileExists(atPath: t.path + "/var/backups/" + full))
    }

    /// --only from an incremental: a file stored by the full backup and one stored by the
    /// incremental both come back as they were at the incremental; a file deleted before it
    /// matches nothing.
    func testPartialRestoreFromAnIncremental() throws {
        let t = try makeSmallStore()
        _ = try backup(t, "media", ["--incremental"])
        try sh("cd '\(t.path)/pub/media' && echo changed > wysiwyg/w.png && rm -r catalog")
        let incr = try backup(t, "media", ["--incremental"])
        let want = try manifest(t.path + "/pub/media")
        let out = try TemporaryFolder("incr-only")
        let r = try fastbackup(["setup:rollback", "-m", incr, "--only", "pub/media/wysiwyg", "--only", "pub/media/suid-like",
                                "--to", out.path + "/x", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let got = try manifest(out.path + "/x/pub/media")
        XCTAssertEqual(got.filter { !$0.key.isEmpty && $0.key != "." }.keys.sorted(),
                       ["suid-like", "wysiwyg", "wysiwyg/w-hardlink.png", "wysiwyg/w.png"])
        for (k, v) in got where k != "" { XCTAssertEqual(v, want[k], k) }
        let gone = try fastbackup(["setup:rollback", "-m", incr, "--only", "pub/media/catalog/product/a/b/ab.jpg",
                                   "--to", out.path + "/y", "--root", t.path])
        XCTAssertNotEqual(gone.status, 0)
        XCTAssertTrue(gone.stderr.contains("matched nothing"), gone.stderr)
    }

    /// Flags that cannot work together are refused before anything runs.
    func testIncrementalUsageErrors() throws {
        let t = try makeSmallStore()
        for args in [["--incremental", "--compression", "zstd"], ["--full-every", "3"], ["--incremental", "--full-every", "0"]] {
            let r = try fastbackup(["setup:backup", "--media", "--no-maintenance", "--root", t.path] + args)
            XCTAssertNotEqual(r.status, 0, args.joined(separator: " "))
            XCTAssertTrue(r.stderr.contains("--incremental") || r.stderr.contains("--full-every"), r.stderr)
        }
        XCTAssertEqual(try sh("ls '\(t.path)/var/backups' | wc -l"), "0\n")
    }
}
