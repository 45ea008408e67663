import Foundation
import XCTest
import TestSupport

/// Code archives built with Python's tarfile module (the real one, as an attacker would use it),
/// each trying to reach a folder outside the store. Whatever the rollback then does, the outside
/// folder must be exactly as it was.
final class HostileArchiveTests: XCTestCase {
    /// The fixture: `python3 - <<PY ... PY` with these helpers, writing `1_filesystem_code.tgz`.
    func makeArchive(_ store: TempTree, outside: String, body: String) throws {
        try sh("""
        python3 - <<'PY'
        import io, tarfile
        O = '\(outside)'
        t = tarfile.open('\(store.path)/var/backups/1_filesystem_code.tgz', 'w:gz')
        def d(n, m=0o755):
            i = tarfile.TarInfo(n); i.type = tarfile.DIRTYPE; i.mode = m; t.addfile(i)
        def f(n, b=b'x'):
            i = tarfile.TarInfo(n); i.size = len(b); t.addfile(i, io.BytesIO(b))
        def s(n, to):
            i = tarfile.TarInfo(n); i.type = tarfile.SYMTYPE; i.linkname = to; t.addfile(i)
        def h(n, to):
            i = tarfile.TarInfo(n); i.type = tarfile.LNKTYPE; i.linkname = to; t.addfile(i)
        def p(n):
            i = tarfile.TarInfo(n); i.type = tarfile.FIFOTYPE; t.addfile(i)
        def x(n, pax, kind=tarfile.REGTYPE, b=b'', m=0o777):
            i = tarfile.TarInfo(n); i.type = kind; i.mode = m; i.size = len(b); i.pax_headers = pax
            t.addfile(i, io.BytesIO(b) if b else None)
        f('app/etc/di.xml', b'restored\\n')
        \(body)
        t.close()
        PY
        """)
    }

    func testNothingOutsideTheStoreChanges() throws {
        try requireTool("python3")
        let cases: [(String, String)] = [
            ("dir-metadata-through-later-symlink", "d('app/d', 0o4777); s('app/d', O + '/secret')"),
            ("dir-metadata-on-outside-folder", "d('app/d', 0o777); s('app/d', O)"),
            ("hardlink-inside-later-symlinked-dir", "d('app/y'); h('app/y/h', 'app/etc/di.xml'); s('app/y', O)"),
            ("hardlink-to-file-behind-later-symlink", "d('app/y'); h('app/h', 'app/y/secret'); s('app/y', O)"),
            ("symlink-kept-after-skipped-fifo", "f('app/x/a'); s('app/x', O); p('app/x'); f('app/x/evil', b'pwned')"),
            ("symlink-kept-after-hardlink", "f('app/x/a'); s('app/x', O); h('app/x', 'app/etc/di.xml'); f('app/x/evil', b'pwned')"),
            ("queued-writes-then-symlink", "[f('app/f/%05d' % i, b'a' * 100) for i in range(3000)]; f('app/z/evil', b'pwned'); s('app/z', O)"),
            ("pub-as-symlink", "s('pub', O)"),
            ("hardlink-to-a-symlink", "s('app/l', O + '/secret'); h('app/hl', 'app/l')"),
        ]
        for (label, body) in cases {
            let store = try TempTree("hostile")
            try store.file("app/etc/di.xml", "live\n")
            try store.file("pub/index.php", "<?php\n")
            try store.dir("pub/media")
            try store.dir("var/backups")
            let outside = try TempTree("outside")
            try outside.file("secret", "secret\n", mode: 0o600)
            let outsideBefore = try manifest(outside.path)
            try makeArchive(store, outside: outside.path, body: body)
            let r = try fastbackup(["setup:rollback", "-n", "-c", "1_filesystem_code.tgz", "--root", store.path])
            XCTAssertEqual(try manifest(outside.path), outsideBefore, "\(label): the outside folder changed; \(r.stdout) \(r.stderr)")
            var st = stat()
            stat(outside.path + "/secret", &st)
            XCTAssertEqual(st.st_nlink, 1, "\(label): the outside file gained a hard link")
            if r.status != 0 {
                XCTAssertEqual(try String(contentsOfFile: store.path + "/app/etc/di.xml", encoding: .utf8), "live\n", "\(label): refused, so the live tree must be untouched")
                XCTAssertTrue(FileManager.default.fileExists(atPath: store.path + "/pub/index.php"), label)
            }
            XCTAssertTrue(FileManager.default.fileExists(atPath: store.path + "/pub/media"), label)
        }
    }

    /// A pax `path` may hold a NUL byte, which the C calls take as the end of the name: `..\0x`
    /// passed the `..` check and then opened `..`, the live root (its mode set to 0777), and a file
    /// named `..\0` made the replace step delete the live root's files. Each is refused now, with
    /// the root exactly as it was. Run under `ulimit -v` and `timeout`: the second case once
    /// recursed until the kernel killed it.
    func testNULInAPaxNameIsRefused() throws {
        try requireTool("python3")
        let cases: [(String, String)] = [
            ("folder ..\\0x", "x('dummy', {'path': '..\\x00x'}, tarfile.DIRTYPE)"),
            ("file ..\\0", "x('dummy', {'path': '..\\x00'}, b=b'boom')"),
            ("excluded var\\0", "x('dummy', {'path': 'var\\x00/evil'}, b=b'boom')"),
            ("symlink target", "x('app/l', {'linkpath': '/tmp\\x00/x'}, tarfile.SYMTYPE)"),
            ("hard link target", "x('app/h', {'linkpath': '..\\x00/x'}, tarfile.LNKTYPE)"),
        ]
        for (label, body) in cases {
            let store = try TempTree("nul")
            try store.file("app/etc/di.xml", "live\n")
            try store.file("composer.json", "{}\n")
            try store.dir("var/backups")
            chmod(store.path, 0o755)
            let outside = try TempTree("outside")
            try makeArchive(store, outside: outside.path, body: body)
            let before = try manifest(store.path, excluding: ["var"])
            let r = try runProcess(["/bin/bash", "-c", "ulimit -v 4000000; timeout 60 '\(fastbackupBinary)' setup:rollback -n -c 1_filesystem_code.tgz --root '\(store.path)'"])
            XCTAssertNotEqual(r.status, 0, "\(label): restored")
            XCTAssertTrue(r.stderr.contains("NUL byte"), "\(label): \(r.stderr)")
            XCTAssertEqual(try manifest(store.path, excluding: ["var"]), before, label)
            var st = stat()
            stat(store.path, &st)
            XCTAssertEqual(st.st_mode & 0o7777, 0o755, "\(label): the store root's mode changed")
        }
    }

    /// Hard links are made at their place in the archive, as GNU tar makes them: a later entry of
    /// the link's name replaces the link (a file, or a folder with files in it), and a later entry
    /// of the target's name does not change what the link holds. Compared with `tar -xzf` of the
    /// same archive; before, links were made last and overwrote both later entries.
    func testHardLinksFollowArchiveOrderAsGNUTarDoes() throws {
        try requireTool("python3")
        try requireTool("tar")
        let cases: [(String, String)] = [
            ("link replaced", "f('app/a', b'A\\n'); h('app/b', 'app/a'); f('app/b', b'later-b\\n'); h('app/d', 'app/a'); d('app/d'); f('app/d/x', b'inside-d\\n')"),
            ("target replaced", "f('app/a', b'v1\\n'); h('app/b', 'app/a'); f('app/a', b'v2\\n')"),
        ]
        for (label, body) in cases {
            let store = try TempTree("links")
            try store.dir("var/backups")
            let outside = try TempTree("outside")
            try makeArchive(store, outside: outside.path, body: body)
            let gnu = try TempTree("gnu")
            try sh("tar -xzf '\(store.path)/var/backups/1_filesystem_code.tgz' -C '\(gnu.path)'")
            let r = try fastbackup(["setup:rollback", "-n", "-c", "1_filesystem_code.tgz", "--root", store.path])
            XCTAssertEqual(r.status, 0, "\(label): \(r.stderr)")
            // app/etc is made implicitly by each tool at its own time (the fixture's first entry).
            XCTAssertEqual(try manifest(store.path + "/app", excluding: ["etc"]), try manifest(gnu.path + "/app", excluding: ["etc"]), label)
        }
    }

    /// Over a live tree (`--in-place`), a live symlink on the way to a hard link's target would let
    /// link(2) reach a file outside the store; the archive is refused and the file keeps one link.
    func testInPlaceHardLinkThroughALiveSymlinkIsRefused() throws {
        try requireTool("python3")
        let store = try TempTree("inplace-link")
        try store.file("app/etc/di.xml", "live\n")
        try store.dir("var/backups")
        let outside = try TempTree("outside")
        try outside.file("secret", "secret\n", mode: 0o600)
        symlink(outside.path, store.path + "/app/ext")
        try makeArchive(store, outside: outside.path, body: "h('app/h', 'app/ext/secret')")
        let r = try fastbackup(["setup:rollback", "-n", "--in-place", "-c", "1_filesystem_code.tgz", "--root", store.path])
        XCTAssertNotEqual(r.status, 0, r.stdout)
        XCTAssertTrue(r.stderr.contains("which is not a folder"), r.stderr)
        var st = stat()
        stat(outside.path + "/secret", &st)
        XCTAssertEqual(st.st_nlink, 1, "the outside file gained a hard link")
    }

    /// A GNU sparse file (`tar -S`) was skipped with a warning, so the swap deleted the live copy.
    /// The rollback is refused now, naming the entry, with the live tree as it was.
    /// Fixture: `truncate -s 10M src/app/sparse.bin; tar -S -czf 1_filesystem_code.tgz -C src app`.
    func testSparseFileIsRefusedNotDropped() throws {
        try requireTool("tar")
        let store = try TempTree("sparse")
        try store.file("app/sparse.bin", "live copy\n")
        try store.dir("var/backups")
        try sh("cd '\(store.path)' && mkdir -p src/app && truncate -s 10M src/app/sparse.bin && echo new > src/app/new.txt && tar -S -czf var/backups/1_filesystem_code.tgz -C src app && rm -rf src")
        let before = try manifest(store.path, excluding: ["var"])
        let r = try fastbackup(["setup:rollback", "-n", "-c", "1_filesystem_code.tgz", "--root", store.path])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stderr.contains("sparse"), r.stderr)
        XCTAssertEqual(try manifest(store.path, excluding: ["var"]), before)
    }

    /// Under `ulimit -n 24`, 21 nested read-only folders: the metadata pass once ran out of
    /// descriptors and silently left 9 of them at 0755 with the time of the restore. Each folder
    /// gets its mode and mtime now (the walk stops holding descriptors and reopens from the base).
    func testFolderMetadataUnderALowDescriptorLimit() throws {
        try requireTool("python3")
        let store = try TempTree("deepmeta")
        try store.dir("var/backups")
        let outside = try TempTree("outside")
        try makeArchive(store, outside: outside.path, body: """
        p = 'app'
        for i in range(21):
            i2 = tarfile.TarInfo(p); i2.type = tarfile.DIRTYPE; i2.mode = 0o555; i2.mtime = 1111111111; t.addfile(i2)
            p += '/d%02d' % i
        f(p.rsplit('/', 1)[0] + '/leaf.txt', b'leaf')
        """)
        let r = try runProcess(["/bin/bash", "-c", "ulimit -n 24; '\(fastbackupBinary)' setup:rollback -n -c 1_filesystem_code.tgz --root '\(store.path)'"])
        XCTAssertEqual(r.status, 0, r.stderr)
        // app/etc comes from the fixture's first entry (app/etc/di.xml), made by the restore.
        let modes = try sh("cd '\(store.path)' && find app -path app/etc -prune -o -type d -printf '%m %T@\\n' | sort | uniq -c")
        XCTAssertEqual(modes.trimmingCharacters(in: .whitespacesAndNewlines), "21 555 1111111111.0000000000", modes)
    }

    /// As root where owners cannot be set (a user namespace without uid 4242, like an NFS export
    /// with root_squash), the files are restored and the run says once that owners were not set,
    /// instead of nothing.
    func testOwnersThatCannotBeSetAreReported() throws {
        try requireTool("python3")
        guard (try? runProcess(["/usr/bin/unshare", "-U", "-r", "true"]))?.status == 0 else {
            throw XCTSkip("unshare -U -r is not allowed here; this test needs a user namespace")
        }
        let store = try TempTree("owners")
        try store.dir("var/backups")
        try sh("chmod 0755 '\(store.path)'")
        let outside = try TempTree("outside")
        try makeArchive(store, outside: outside.path, body: "i = tarfile.TarInfo('app/owned.txt'); i.size = 2; i.uid = 4242; t.addfile(i, io.BytesIO(b'ok'))")
        let r = try runProcess(["/usr/bin/unshare", "-U", "-r", fastbackupBinary, "setup:rollback", "-n", "-c", "1_filesystem_code.tgz", "--root", store.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("could not set the owner of"), r.stderr)
        XCTAssertEqual(try String(contentsOfFile: store.path + "/app/owned.txt", encoding: .utf8), "ok")
    }

    /// GNU tar semantics for names stored twice (`tar -r`): the later entry wins, every time.
    func testLaterDuplicateEntryWins() throws {
        try requireTool("python3")
        let store = try TempTree("dups")
        try store.dir("var/backups")
        try sh("""
        python3 - <<'PY'
        import io, tarfile
        t = tarfile.open('\(store.path)/var/backups/1_filesystem_code.tgz', 'w:gz')
        for word in (b'first', b'second'):
            for i in range(1500):
                ti = tarfile.TarInfo('app/d%02d/f%04d' % (i % 30, i)); ti.size = len(word); t.addfile(ti, io.BytesIO(word))
        t.close()
        PY
        """)
        let r = try fastbackup(["setup:rollback", "-n", "-c", "1_filesystem_code.tgz", "--root", store.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let firsts = try sh("grep -rl first '\(store.path)/app' | wc -l").trimmingCharacters(in: .whitespacesAndNewlines)
        let seconds = try sh("grep -rl second '\(store.path)/app' | wc -l").trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(firsts, "0")
        XCTAssertEqual(seconds, "1500")
    }

    /// An entry below a file of the same archive (`app/x`, then `app/x/y`) cannot be restored, as
    /// with GNU tar ("Cannot open: Not a directory"): the rollback is refused and the live tree kept,
    /// even when the file is still queued for a writer thread (3,000 writes before it) when the
    /// entry below it is read.
    func testEntryBelowAQueuedFileIsRefused() throws {
        try requireTool("python3")
        let store = try TempTree("below-file")
        try store.file("app/etc/di.xml", "live\n")
        try store.dir("var/backups")
        let outside = try TempTree("outside")
        try makeArchive(store, outside: outside.path,
                        body: "[f('app/f/%05d' % i, b'a' * 100) for i in range(3000)]; f('app/x', b'file'); f('app/x/y', b'below')")
        let r = try fastbackup(["setup:rollback", "-n", "-c", "1_filesystem_code.tgz", "--root", store.path])
        XCTAssertNotEqual(r.status, 0, "restored although app/x/y lies below the file app/x: \(r.stdout)")
        XCTAssertTrue(r.stderr.contains("app/x"), r.stderr)
        XCTAssertEqual(try String(contentsOfFile: store.path + "/app/etc/di.xml", encoding: .utf8), "live\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.path + "/app/x"))
    }

    /// Magento's PHP archiver writes the `pub/` folder before `pub/media/` in a media archive.
    /// Fixture: `(echo pub; find pub/media) | tar -czf X --no-recursion -T -` in the store root.
    func testMediaArchiveWithParentFolderEntryRestores() throws {
        try requireTool("tar")
        let t = try makeSmallStore()
        let before = try manifest(t.path + "/pub/media")
        try sh("cd '\(t.path)' && (echo pub; find pub/media) | tar -czf var/backups/5_filesystem_media.tgz --no-recursion -T -")
        try sh("rm -rf '\(t.path)/pub/media/catalog'")
        let r = try fastbackup(["setup:rollback", "-n", "-m", "5_filesystem_media.tgz", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try manifest(t.path + "/pub/media"), before)
    }
}
