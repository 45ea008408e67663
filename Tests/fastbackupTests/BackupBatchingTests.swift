import Foundation
import XCTest
import TestSupport

/// The walker hands entries to the readers and the writer in batches of up to 64 entries and
/// 1 MiB of read-ahead (TreeArchiver, ReadAheadBatching). Each tree here puts an edge of that
/// scheme at a known place and checks the archive with GNU tar.
final class BackupBatchingTests: XCTestCase {
    private func mediaBackup(_ t: TempTree) throws -> String {
        let r = try fastbackup(["setup:backup", "--media", "--no-maintenance", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("Media backup path: ") }
            .map { String($0.dropFirst("Media backup path: ".count)) })
    }

    /// A hard-link group whose names fall on both sides of a batch boundary, at every offset
    /// around it: the later names are link entries to the first, which GNU tar restores as
    /// one inode.
    func testHardLinkGroupAcrossABatchBoundary() throws {
        try requireTool("tar")
        for before in [60, 61, 62, 63, 64, 65] {
            let t = try TempTree("batchlinks")
            // The media folder itself is the archive's first entry, then the files in name order.
            for i in 0..<before { try t.file(String(format: "pub/media/a%03d.txt", i), "file \(i)\n") }
            try t.file("pub/media/h1", "linked content \(before)\n")
            XCTAssertEqual(link(t.path + "/pub/media/h1", t.path + "/pub/media/h2"), 0)
            XCTAssertEqual(link(t.path + "/pub/media/h1", t.path + "/pub/media/h3"), 0)
            let archive = try mediaBackup(t)
            let listing = try sh("tar -tvzf '\(archive)' | grep ' pub/media/h'")
            XCTAssertTrue(listing.contains("pub/media/h2 link to pub/media/h1"), listing)
            XCTAssertTrue(listing.contains("pub/media/h3 link to pub/media/h1"), listing)
            let out = try TempTree("batchlinks-out")
            try sh("tar -xzf '\(archive)' -C '\(out.path)'")
            XCTAssertEqual(try manifest(out.path + "/pub/media"), try manifest(t.path + "/pub/media"), "\(before) files before the links")
            let inodes = try sh("stat -c %i '\(out.path)/pub/media/h1' '\(out.path)/pub/media/h2' '\(out.path)/pub/media/h3' | sort -u | wc -l")
            XCTAssertEqual(inodes.trimmingCharacters(in: .whitespacesAndNewlines), "1", "\(before): the three names are one file")
        }
    }

    /// Batches with nothing to read (folders only, empty files only), files that fill a batch's
    /// 1 MiB on their own, one larger than a batch, and one streamed past the read-ahead limit.
    func testEmptyFoldersEmptyFilesAndFilesAroundTheByteLimit() throws {
        try requireTool("tar")
        let t = try TempTree("batchsizes")
        for i in 0..<150 { try t.dir(String(format: "pub/media/empty/d%03d", i)) }
        for i in 0..<150 { try t.file(String(format: "pub/media/zero/f%03d", i), "") }
        var rng = SeededRandom(seed: 7)
        for (i, size) in [300_000, 400_000, 500_000, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 << 20, 5 << 20, 10].enumerated() {
            let path = t.path + String(format: "/pub/media/sized/s%02d.bin", i)
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data((0..<size).map { _ in UInt8(truncatingIfNeeded: rng.next()) }).write(to: URL(fileURLWithPath: path))
        }
        try sh("find '\(t.path)/pub/media' -exec touch -h -d @1700000000 {} +")
        let archive = try mediaBackup(t)
        let out = try TempTree("batchsizes-out")
        try sh("tar -xzf '\(archive)' -C '\(out.path)'")
        XCTAssertEqual(try manifest(out.path + "/pub/media"), try manifest(t.path + "/pub/media"))
        // pub/media, its three folders, 150 empty folders, 150 empty files, 9 sized files, and
        // the tree record (var/.fastbackup/record.txt) last.
        let entries: Int = 1 + 3 + 150 + 150 + 9 + 1
        let listed = try sh("tar -tzf '\(archive)' | wc -l").trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(listed, String(entries))
    }
}

