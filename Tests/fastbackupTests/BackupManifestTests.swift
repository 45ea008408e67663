import Foundation
import XCTest
@testable import fastbackup
import TestSupport

/// The manifest a code backup carries (`--exclude` patterns) and the tool's own folders left out.
final class BackupManifestTests: XCTestCase {
    // MARK: manifest and exclusions

    /// `--exclude` patterns travel in the code archive's first entry; the tool's own
    /// `.fastbackup-*` folders at the root are never archived.
    func testCodeBackupRecordsExcludesFirstAndLeavesOutStagingFolders() throws {
        try requireTool("tar")
        let t = try TempTree("manifest")
        try t.file("app/etc/di.xml", "<config/>\n")
        try t.file("exports/report.csv", "a,b\n")
        try t.file("app/x.log", "log")
        try t.file(".fastbackup-old-1234/app/etc/di.xml", "old")
        try t.file(".fastbackup-staging-1/x", "staged")
        try t.file("app/.fastbackup-keep/y", "deeper names are ordinary code")
        try t.dir("pub/media")
        let r = try fastbackup(["setup:backup", "--code", "--no-maintenance", "--exclude", "exports", "--exclude", "*.log", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let archive = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups").first)
        let path = t.path + "/var/backups/" + archive
        let names = try sh("tar -tzf '\(path)'").split(separator: "\n").map(String.init)
        XCTAssertEqual(names.first, BackupManifest.archivePath)
        XCTAssertFalse(names.contains { $0.hasPrefix(".fastbackup-") }, "\(names)")
        XCTAssertTrue(names.contains("app/.fastbackup-keep/y"), "\(names)")
        XCTAssertFalse(names.contains { $0.hasPrefix("exports") || $0.hasSuffix(".log") }, "\(names)")
        let body = try sh("tar -xOzf '\(path)' '\(BackupManifest.archivePath)'")
        let m = try BackupManifest.parse(Array(body.utf8))
        XCTAssertEqual(m.kind, .code)
        XCTAssertTrue(body.contains("\"kind\":\"code\""), body)
        XCTAssertEqual(m.exclude, ["exports", "*.log"])
        XCTAssertNotNil(ISO8601DateFormatter().date(from: m.created), m.created)
    }

    func testManifestParseRejectsWhatIsNotAManifest() throws {
        let cases: [(String, Bool)] = [
            (#"{"kind":"code","exclude":["a","b/*"],"created":"2026-01-01T00:00:00Z"}"#, true),
            (#"{"kind":"code","exclude":[]"#, false),
            (#"{"kind":"code","created":"2026-01-01T00:00:00Z"}"#, false),
            ("not json", false),
            (String(repeating: " ", count: BackupManifest.maximumSize + 1), false),
        ]
        for (text, ok) in cases {
            XCTAssertEqual((try? BackupManifest.parse(Array(text.utf8))) != nil, ok, String(text.prefix(60)))
        }
        let m = BackupManifest(kind: .code, exclude: ["x y", "é/*"])
        XCTAssertEqual(try BackupManifest.parse(m.encoded()), m)
    }
}
