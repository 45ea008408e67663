import Foundation
import TestSupport
import XCTest

/// `setup:rollback --only PATTERN [--to DIR]`: part of a backup, into another folder or over
/// the live store path by path, with the rest of the store untouched.
final class PartialRestoreTests: XCTestCase {
    private func backup(_ t: TempTree, _ kind: String) throws -> String {
        (try takeBackup(t, kind) as NSString).lastPathComponent
    }

    /// One file into another folder, with its content, mode and mtime; nothing else there,
    /// and the store as it was.
    func testOneFileIntoAnotherFolder() throws {
        let t = try makeSmallStore()
        let media = try backup(t, "media")
        let out = try TemporaryFolder("partial-to")
        let live = try manifest(t.path)
        let r = try fastbackup(["setup:rollback", "-m", media, "--only", "pub/media/catalog/product/a/b/ab.jpg",
                                "--to", out.path + "/restored", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try sh("cd '\(out.path)/restored' && find . -type f").trimmingCharacters(in: .whitespacesAndNewlines),
                       "./pub/media/catalog/product/a/b/ab.jpg")
        let want = try manifest(t.path + "/pub/media/catalog/product/a/b")
        XCTAssertEqual(try manifest(out.path + "/restored/pub/media/catalog/product/a/b"), want)
        XCTAssertEqual(try manifest(t.path), live, "a restore elsewhere changed the store")
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/var/.maintenance.flag"))
    }

    /// From an archive of many members, a literal path is read from the index's mark before it,
    /// not from the start (`-v` names the member), and comes back byte for byte; a folder too.
    /// The archive still lists with GNU tar and tests with gzip (the index sits after the
    /// end-of-archive blocks).
    func testIndexedArchiveReadsFromTheMarkBeforeThePath() throws {
        let t = try makeSmallStore()
        try sh("cd '\(t.path)/pub/media' && for d in $(seq -w 1 30); do mkdir -p big/d$d && head -c 400000 /dev/urandom > big/d$d/f.bin; done")
        let r = try fastbackup(["setup:backup", "--media", "--chunk-size", "1", "--no-maintenance", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let media = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups").first { $0.hasSuffix("_filesystem_media.tgz") })
        XCTAssertTrue(try sh("tar -tzf '\(t.path)/var/backups/\(media)'").contains("pub/media/big/d30/f.bin"))
        _ = try sh("gzip -t '\(t.path)/var/backups/\(media)'")
        let out = try TemporaryFolder("partial-indexed")
        let one = try fastbackup(["setup:rollback", "-m", media, "--only", "pub/media/big/d27/f.bin", "--to", out.path + "/one",
                                  "--root", t.path, "-v"])
        XCTAssertEqual(one.status, 0, one.stderr)
        // "--only PATH: 2 members read from byte N (stream offset M)"
        let from = one.stderr.split(separator: "\n").first { $0.contains(" members read from byte ") }.map { $0.split(separator: " ") }
        let members = from.flatMap { words in words.firstIndex(of: "members").flatMap { Int(words[$0 - 1]) } }
        let byte = from.flatMap { words in words.firstIndex(of: "byte").flatMap { Int(words[$0 + 1]) } }
        XCTAssertGreaterThan(byte ?? 0, 0, "the index was not used: \(one.stderr)")
        // The mark's member, and the next when the body or the following header runs on.
        XCTAssertLessThanOrEqual(members ?? 99, 3, one.stderr)
        XCTAssertEqual(try sh("cmp '\(out.path)/one/pub/media/big/d27/f.bin' '\(t.path)/pub/media/big/d27/f.bin' && echo same"), "same\n")
        XCTAssertEqual(try sh("cd '\(out.path)/one' && find . -type f | wc -l").trimmingCharacters(in: .whitespacesAndNewlines), "1")
        let folder = try fastbackup(["setup:rollback", "-m", media, "--only", "pub/media/big/d12", "--only", "pub/media/wysiwyg",
                                     "--to", out.path + "/two", "--root", t.path])
        XCTAssertEqual(folder.status, 0, folder.stderr)
        XCTAssertEqual(try manifest(out.path + "/two/pub/media/big/d12"), try manifest(t.path + "/pub/media/big/d12"))
        XCTAssertEqual(try manifest(out.path + "/two/pub/media/wysiwyg"), try manifest(t.path + "/pub/media/wysiwyg"))
    }

    /// `--to` inside the store, or at a folder with something in it, is refused; `--force`
    /// writes into the latter.
    func testDestinationChecks() throws {
        let t = try makeSmallStore()
        let code = try backup(t, "code")
        let inside = try fastbackup(["setup:rollback", "-c", code, "--to", t.path + "/app/restored", "--root", t.path])
        XCTAssertEqual(inside.status, 1)
        XCTAssertTrue(inside.stderr.contains("lies inside the store"), inside.stderr)
        let out = try TemporaryFolder("partial-busy")
        try "x".write(toFile: out.path + "/keep.txt", atomically: false, encoding: .utf8)
        let busy = try fastbackup(["setup:rollback", "-c", code, "--only", "app/etc", "--to", out.path, "--root", t.path])
        XCTAssertEqual(busy.status, 1)
        XCTAssertTrue(busy.stderr.contains("is not empty"), busy.stderr)
        let forced = try fastbackup(["setup:rollback", "-c", code, "--only", "app/etc", "--to", out.path, "--force", "--root", t.path])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.path + "/app/etc/di.xml"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.path + "/keep.txt"))
    }

    /// Over the live store: the matched folder's files come back (a deleted one, a changed
    /// one); outside it nothing changes (a changed file stays changed, a new file stays), and
    /// no staging folder is left.
    func testLiveFolderRestoredPathByPath() throws {
        let t = try makeSmallStore()
        let media = try backup(t, "media")
        let catalog = try manifest(t.path + "/pub/media/catalog")
        try sh("rm '\(t.path)/pub/media/catalog/product/a/b/ab.jpg' && echo changed > '\(t.path)/pub/media/wysiwyg/w.png' && echo new > '\(t.path)/pub/media/new.txt'")
        let outside = try manifest(t.path + "/pub/media/wysiwyg")
        let r = try fastbackup(["setup:rollback", "-n", "-m", media, "--only", "pub/media/catalog", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("matching --only; nothing else was changed."), r.stdout)
        XCTAssertEqual(try manifest(t.path + "/pub/media/catalog"), catalog)
        XCTAssertEqual(try manifest(t.path + "/pub/media/wysiwyg"), outside)
        XCTAssertEqual(try String(contentsOfFile: t.path + "/pub/media/new.txt", encoding: .utf8), "new\n")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: t.path).filter { $0.hasPrefix(".fastbackup") }, [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/var/.maintenance.flag"))
    }

    /// A pattern that matches nothing, a live folder where the backup has a file, a damaged
    /// archive: each an error with the store unchanged, and no --to folder left behind.
    func testRefusalsChangeNothing() throws {
        let t = try makeSmallStore()
        let media = try backup(t, "media")
        let out = try TemporaryFolder("partial-none")
        let none = try fastbackup(["setup:rollback", "-m", media, "--only", "no/such/path", "--to", out.path + "/r", "--root", t.path])
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.stderr.contains("matched nothing"), none.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path + "/r"))

        try sh("rm '\(t.path)/pub/media/wysiwyg/w.png' && mkdir '\(t.path)/pub/media/wysiwyg/w.png'")
        // var/ holds the maintenance flag and the run lock, which come and go.
        let live = try manifest(t.path, excluding: ["var"])
        let folder = try fastbackup(["setup:rollback", "-n", "-m", media, "--only", "pub/media/wysiwyg", "--root", t.path])
        XCTAssertEqual(folder.status, 1)
        XCTAssertTrue(folder.stderr.contains("is a folder in the store and a file in the backup"), folder.stderr)
        XCTAssertEqual(try manifest(t.path, excluding: ["var"]), live)

        let path = t.path + "/var/backups/" + media
        let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        try sh("truncate -s \(size - 30) '\(path)'")
        let cut = try fastbackup(["setup:rollback", "-n", "-m", media, "--only", "pub/media/catalog", "--root", t.path])
        XCTAssertEqual(cut.status, 1)
        XCTAssertEqual(try manifest(t.path, excluding: ["var"]), live, "a damaged archive changed the store")

        let db = try fastbackup(["setup:rollback", "-n", "-d", "1_db.sql", "--only", "x", "--root", t.path])
        XCTAssertEqual(db.status, 1)
    }
}
