import Foundation
import XCTest
import TestSupport

/// `setup:backup --code/--media` against the real GNU tar and gzip.
final class BackupCommandTests: XCTestCase {
    /// A small Magento-shaped root: code, generated files, the excluded folders, and lookalikes
    /// of excluded names that must stay in (`.github`, `var2`).
    func makeStore() throws -> TempTree {
        let t = try TempTree("store")
        try t.file("app/etc/env.php", "<?php return ['db' => []];\n")
        try t.file("app/etc/di.xml", "<config/>\n")
        try t.file("app/code/Vendor/Module/registration.php", "<?php\n// registration\n")
        try t.file("bin/magento", "#!/usr/bin/env php\n<?php echo 1;\n", mode: 0o755)
        try t.file("generated/code/Foo/Interceptor.php", "<?php class Interceptor {}\n")
        try t.file("vendor/autoload.php", "<?php // autoload\n")
        try t.file(".github/workflows/ci.yml", "on: push\n")
        try t.file("var2/keep.txt", "var2 is not var\n")
        try t.file("app/var/keep.txt", "only the top-level var is excluded\n")
        try t.file("pub/index.php", "<?php // index\n")
        try t.file("pub/media/catalog/product/a/b/ab.jpg", String(repeating: "\u{1}jpeg", count: 1000))
        try t.file("pub/media/wysiwyg/banner.png", "png")
        try t.file("pub/static/frontend/x.css", "body{}")
        try t.file("var/log/system.log", "log")
        try t.file("var/cache/x", "cache")
        try t.file(".git/HEAD", "ref: refs/heads/main\n")
        try t.file("node_modules/x/index.js", "js")
        try t.file("update/x.txt", "x")
        try t.dir("app/empty")
        symlink("../app/etc/di.xml", t.path + "/pub/di-link.xml")
        return t
    }

    func backupFile(_ out: String, kind: String) -> String? {
        out.split(separator: "\n").first { $0.hasPrefix("\(kind) backup path: ") }.map { String($0.dropFirst("\(kind) backup path: ".count)) }
    }

    func testNoOptionPrintsMagentoMessage() throws {
        let t = try makeStore()
        let r = try fastbackup(["setup:backup", "--root", t.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "Not enough information provided to take backup.\n")
    }

    func testCodeBackupListsExactlyTheCodeTreeAndExtracts() throws {
        try requireTool("tar")
        let t = try makeStore()
        let r = try fastbackup(["setup:backup", "--code", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "Enabling maintenance mode")
        XCTAssertEqual(lines[1], "Code backup is starting...")
        XCTAssertTrue(lines[2].hasPrefix("Code backup filename: ") && lines[2].hasSuffix("_filesystem_code.tgz (The archive can be uncompressed with 7-Zip on Windows systems)"), lines[2])
        XCTAssertEqual(lines[4], "[SUCCESS]: Code backup completed successfully.")
        XCTAssertEqual(lines.last, "Disabling maintenance mode")
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/var/.maintenance.flag"))

        let archive = try XCTUnwrap(backupFile(r.stdout, kind: "Code"))
        XCTAssertTrue(archive.hasPrefix(t.path + "/var/backups/"))
        // The backup manifest (var/.fastbackup/backup.json, first) is checked in BackupSafetyTests;
        // the tree record (var/.fastbackup/record.txt, last) in IncrementalBackupTests.
        let treeEntries = "tar -tzf '\(archive)' | tail -n +2 | head -n -1"
        XCTAssertEqual(try sh("tar -tzf '\(archive)' | tail -n 1"), TreeRecordName + "\n")
        let listed = Set(try sh(treeEntries).split(separator: "\n").map { String($0.hasSuffix("/") ? $0.dropLast() : $0) })
        let expected: Set<String> = [
            "app", "app/etc", "app/etc/env.php", "app/etc/di.xml", "app/code", "app/code/Vendor", "app/code/Vendor/Module",
            "app/code/Vendor/Module/registration.php", "app/var", "app/var/keep.txt", "app/empty", "bin", "bin/magento",
            "generated", "generated/code", "generated/code/Foo", "generated/code/Foo/Interceptor.php", "vendor",
            "vendor/autoload.php", ".github", ".github/workflows", ".github/workflows/ci.yml", "var2", "var2/keep.txt",
            "pub", "pub/index.php", "pub/di-link.xml",
        ]
        XCTAssertEqual(listed, expected)
        // Deterministic order: depth-first, each folder's entries sorted by name bytes.
        let order = try sh(treeEntries).split(separator: "\n").map { String($0.hasSuffix("/") ? $0.dropLast() : $0) }
        var lastChild: [String: String] = [:]
        for path in order {
            let parent = (path as NSString).deletingLastPathComponent
            if !parent.isEmpty { XCTAssertNotNil(order.firstIndex(of: parent).flatMap { $0 < order.firstIndex(of: path)! ? $0 : nil }, "\(parent) must come before \(path)") }
            let name = (path as NSString).lastPathComponent
            if let prev = lastChild[parent] { XCTAssertTrue(Array(prev.utf8).lexicographicallyPrecedes(Array(name.utf8)), "\(prev) before \(name) in \(parent)") }
            lastChild[parent] = name
        }
        let out = try TempTree("extract")
        try sh("tar -xzf '\(archive)' -C '\(out.path)'")
        let excluded = ["pub/media", "pub/static", "var", "update", "node_modules", ".git"]
        XCTAssertEqual(try manifest(out.path, excluding: ["var"]), try manifest(t.path, excluding: excluded))
        try sh("gzip -t '\(archive)'")
    }

    /// "The archive can be uncompressed with 7-Zip on Windows systems": 7-Zip reads the gzip
    /// layer and the tar inside it.
    /// A rollback stopped midway leaves its staging and set-aside folders (`.fastbackup-*`) at
    /// the root and, for media, in `pub`; none of them is code (the backup's recovery step removes
    /// them, and the walk leaves them out besides). Fixture folders made with mkdir.
    func testRollbackLeftoversAreNotCode() throws {
        try requireTool("tar")
        let t = try makeStore()
        try t.file(".fastbackup-staging-code-1/app/x.php", "<?php")
        try t.file("pub/.fastbackup-old-media-123/catalog/x.jpg", "img")
        try t.file("pub/.fastbackup-staging-media-124/y.jpg", "img")
        try t.file("pub/.fastbackups-are-mine.txt", "a file of the store")
        let r = try fastbackup(["setup:backup", "--code", "--root", t.path, "--no-maintenance"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let archive = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups").first)
        let listing = try sh("tar -tzf '\(t.path)/var/backups/\(archive)'")
        XCTAssertFalse(listing.contains(".fastbackup-staging"), listing)
        XCTAssertFalse(listing.contains(".fastbackup-old"), listing)
        XCTAssertTrue(listing.contains("pub/.fastbackups-are-mine.txt"), listing)
        XCTAssertTrue(listing.contains("pub/index.php"), listing)
    }

    func testSevenZipOpensTheArchive() throws {
        try requireTool("7z")
        let t = try makeStore()
        // 7-Zip refuses symlinks that climb with `..` ("Dangerous link path"), whoever wrote them.
        unlink(t.path + "/pub/di-link.xml")
        let r = try fastbackup(["setup:backup", "--code", "--root", t.path, "--no-maintenance"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let archive = try XCTUnwrap(backupFile(r.stdout, kind: "Code"))
        let out = try TempTree("7z")
        try sh("cd '\(out.path)' && 7z x -y '\(archive)' >/dev/null && 7z x -y *.tar >/dev/null && rm -f *.tar")
        XCTAssertEqual(try String(contentsOfFile: out.path + "/app/etc/di.xml", encoding: .utf8), "<config/>\n")
        XCTAssertEqual(try String(contentsOfFile: out.path + "/var2/keep.txt", encoding: .utf8), "var2 is not var\n")
    }

    func testMediaBackupOfSymlinkedMediaStoresTheContent() throws {
        try requireTool("tar")
        let t = try makeStore()
        let shared = try TempTree("shared-media")
        try shared.file("catalog/product/x/y/xy.jpg", "image bytes")
        try shared.file("wysiwyg/logo.svg", "<svg/>")
        symlink("catalog/product/x/y/xy.jpg", shared.path + "/alias.jpg")
        try sh("rm -rf '\(t.path)/pub/media' && ln -s '\(shared.path)' '\(t.path)/pub/media'")
        let r = try fastbackup(["setup:backup", "--media", "--root", t.path, "--no-maintenance"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stdout.contains("maintenance"))
        let archive = try XCTUnwrap(backupFile(r.stdout, kind: "Media"))
        XCTAssertTrue(archive.hasSuffix("_filesystem_media.tgz"))
        let listing = try sh("tar -tvzf '\(archive)'")
        XCTAssertTrue(listing.contains("pub/media/catalog/product/x/y/xy.jpg"), listing)
        XCTAssertTrue(listing.contains("pub/media/alias.jpg -> catalog/product/x/y/xy.jpg"), listing)
        let out = try TempTree("extract")
        try sh("tar -xzf '\(archive)' -C '\(out.path)'")
        XCTAssertEqual(try manifest(out.path + "/pub/media"), try manifest(shared.path))
    }

    func testMaintenanceFlagAlreadyPresentIsLeftAlone() throws {
        let t = try makeStore()
        try t.file("var/.maintenance.flag", "")
        try t.file("var/.maintenance.ip", "10.0.0.1")
        let r = try fastbackup(["setup:backup", "--media", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "Maintenance mode already enabled")
        XCTAssertEqual(lines.last, "Skipped disabling maintenance mode")
        XCTAssertTrue(FileManager.default.fileExists(atPath: t.path + "/var/.maintenance.flag"))
        XCTAssertEqual(try String(contentsOfFile: t.path + "/var/.maintenance.ip", encoding: .utf8), "10.0.0.1")
    }

    func testFailureMidwayRemovesFlagAndLeavesNoBackup() throws {
        let t = try makeStore()
        // 2 MB of incompressible data cannot fit under a 64 KiB file size limit.
        try sh("head -c 2000000 /dev/urandom > '\(t.path)/pub/media/big.bin'")
        let r = try runProcess(["/bin/bash", "-c", "ulimit -f 64; exec '\(fastbackupBinary)' setup:backup --media --root '\(t.path)'"])
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("Disabling maintenance mode"), r.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/var/.maintenance.flag"))
        let left = try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups")
        XCTAssertEqual(left, [], "no backup or temporary file may be left: \(left)")
        XCTAssertFalse(r.stderr.isEmpty)
    }

    func testUnwritableBackupsFolderFailsCleanly() throws {
        let t = try makeStore()
        try t.file("var/backups", "a file where the folder should be")
        let r = try fastbackup(["setup:backup", "--code", "--root", t.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/var/.maintenance.flag"))
        XCTAssertFalse(r.stderr.isEmpty)
    }

    func testUnreadableFileFailsWithMagentoMessage() throws {
        guard geteuid() == 0 else { throw XCTSkip("needs root to run the backup as another user (setpriv)") }
        try requireTool("setpriv")
        let t = try makeStore()
        try t.file("app/etc/secret.php", "secret", mode: 0o600)
        try sh("chmod -R a+rwX '\(t.path)' && chmod 600 '\(t.path)/app/etc/secret.php' && chmod 755 \(NSTemporaryDirectory())")
        let r = try runProcess(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", fastbackupBinary,
                         "setup:backup", "--code", "--root", t.path])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stderr.contains("Not enough permissions to read files for backup"), r.stderr)
        XCTAssertTrue(r.stderr.contains("app/etc/secret.php"), r.stderr)
        let left = (try? FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups")) ?? []
        XCTAssertEqual(left, [])
    }

    func testGrowingFileWarnsAndArchiveStaysValid() throws {
        try requireTool("tar")
        let t = try makeStore()
        try sh("head -c 64000000 /dev/zero > '\(t.path)/pub/media/growing.bin'")
        // Appends for as long as the backup runs; the streamed read of a 64 MB file sees it grow.
        let grower = Process()
        grower.executableURL = URL(fileURLWithPath: "/bin/bash")
        grower.arguments = ["-c", "while :; do printf x >> '\(t.path)/pub/media/growing.bin'; done"]
        grower.standardOutput = FileHandle.nullDevice
        grower.standardError = FileHandle.nullDevice
        try grower.run()
        defer { grower.terminate(); grower.waitUntilExit() }
        Thread.sleep(forTimeInterval: 0.2)
        let r = try fastbackup(["setup:backup", "--media", "--root", t.path, "--no-maintenance"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("file changed as we read it"), r.stderr)
        let archive = try XCTUnwrap(backupFile(r.stdout, kind: "Media"))
        try sh("tar -tzf '\(archive)' > /dev/null")
    }

    func testListShowsBackupsWithTypes() throws {
        let t = try makeStore()
        var r = try fastbackup(["info:backups:list", "--root", t.path])
        XCTAssertEqual(r.stdout, "No backup files found.\n")
        try t.file("var/backups/1700000000_filesystem_code.tgz", "x")
        try t.file("var/backups/1700000000_filesystem_media.tgz", "xy")
        try t.file("var/backups/1700000000_db.sql", "xyz")
        try t.file("var/backups/1600000000_filesystem.tgz", "old")
        try t.file("var/backups/notes.txt", "not a backup")
        r = try fastbackup(["info:backups:list", "--root", t.path])
        XCTAssertEqual(r.status, 0)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines[0], "Showing backup files in \(t.path)/var/backups.")
        XCTAssertTrue(lines[2].contains("Backup Filename") && lines[2].contains("Backup Type"))
        let body = lines.filter { $0.hasPrefix("| 1") }
        XCTAssertEqual(body.count, 4)
        XCTAssertTrue(body.contains { $0.contains("1700000000_db.sql") && $0.contains("| db ") })
        XCTAssertTrue(body.contains { $0.contains("1600000000_filesystem.tgz") && $0.contains("| code ") })
        XCTAssertFalse(r.stdout.contains("notes.txt"))

        r = try fastbackup(["info:backups:list", "--root", t.path, "--json"])
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let backups = json["backups"] as! [[String: Any]]
        XCTAssertEqual(backups.count, 4)
        XCTAssertEqual(backups.first { $0["file"] as? String == "1700000000_filesystem_media.tgz" }?["size"] as? Int, 2)
    }

    /// Scripts tell folders in `tar -tzf` output by the trailing slash, as GNU tar writes them.
    func testFoldersAreListedWithATrailingSlash() throws {
        try requireTool("tar")
        let t = try makeStore()
        let r = try fastbackup(["setup:backup", "--code", "--media", "--no-maintenance", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let code = try sh("tar -tzf '\(try XCTUnwrap(backupFile(r.stdout, kind: "Code")))'").split(separator: "\n").map(String.init)
        XCTAssertTrue(code.contains("app/") && code.contains("app/empty/") && code.contains("app/etc/env.php"), "\(code)")
        XCTAssertFalse(code.contains("app") || code.contains("app/empty"), "\(code)")
        let media = try sh("tar -tzf '\(try XCTUnwrap(backupFile(r.stdout, kind: "Media")))'").split(separator: "\n").map(String.init)
        XCTAssertEqual(media.first, "pub/media/")
        XCTAssertTrue(media.contains("pub/media/catalog/product/a/b/"), "\(media)")
    }
}
