import Foundation
import ObjectStore
import ParallelGzip
import StreamTar
import TestSupport
import XCTest
@testable import fastbackup

/// The tree record against the archive that carries it: an archive re-packed (every entry
/// copied through TarReader and TarWriter into a new indexed .tgz) with its record edited, so
/// the record's hash in the index is right and only its content lies. Verify and rollback
/// must each name the damage; neither may restore a tree the record does not describe.
/// The archives come from `fastbackup setup:backup --media [--incremental]` on makeSmallStore().
final class TreeRecordTests: XCTestCase {
    /// Copies `source` to `target`, passing the record's text through `edit` and leaving out
    /// the entries `drop` names.
    private func repack(_ source: String, to target: String, edit: (String) -> String = { $0 }, drop: (String) -> Bool = { _ in false }) throws {
        let input = open(source, O_RDONLY)
        XCTAssertGreaterThanOrEqual(input, 0)
        defer { close(input) }
        let output = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(output) }
        let reader = TarReader(source: try ParallelDecompressor(inputFD: input, path: source, threads: 1))
        let compressor = try ParallelCompressor(outputFD: output, path: target, options: CompressionOptions(threads: 1, chunkSize: 1 << 20))
        let writer = TarWriter(sink: compressor)
        var index = ArchiveIndex(stride: 1 << 20)
        var recordOffset: Int64 = 0
        writer.entryObserver = { offset, name in
            if name.description == TreeRecord.archivePath { recordOffset = offset } else { index.note(offset: offset, name: name.bytes) }
        }
        while var header = try reader.next() {
            if drop(header.name.description) { continue }
            var body = try reader.readWholeBody(size: Int(header.size))
            if header.name.description == TreeRecord.archivePath {
                body = Array(edit(String(decoding: body, as: UTF8.self)).utf8)
                header.size = Int64(body.count)
                let hash = SHA256Stream()
                body.withUnsafeBytes { hash.update($0) }
                index.record = ArchiveIndex.RecordLocation(offset: 0, length: Int64(body.count), sha256: hash.finishHex())
            }
            try writer.writeHeader(header)
            try body.withUnsafeBytes { try writer.writeBody($0) }
        }
        try writer.finish()
        index.record?.offset = recordOffset
        try index.encoded().withUnsafeBytes { try compressor.write($0) }
        _ = try compressor.finish()
    }

    private func backup(_ t: TempTree, _ extra: [String] = []) throws -> String {
        try takeBackup(t, "media", extra)
    }

    /// The re-pack itself changes nothing a reader sees: the copy verifies and restores.
    func testUneditedRepackIsWhole() throws {
        let t = try makeSmallStore()
        let path = try backup(t)
        try repack(path, to: path + ".tmp")
        try sh("mv '\(path).tmp' '\(path)'")
        let v = try fastbackup(["info:backups:verify", "--all", "--root", t.path])
        XCTAssertEqual(v.status, 0, v.stdout)
    }

    /// A record that gives the archive a file it does not hold; one that lacks an entry the
    /// archive holds; a line that does not parse; a header that names another kind.
    func testRecordThatLiesIsReported() throws {
        let t = try makeSmallStore()
        let path = try backup(t)
        let cases: [(String, (String) -> String, (String) -> Bool, String)] = [
            ("extra line", { $0 + "0 f 644 3 1.000000000 1.000000000 9 zzz-not-there\n" }, { _ in false }, "lacks 1 entries"),
            ("entry dropped from the archive", { $0 }, { $0 == "pub/media/wysiwyg/w.png" }, "lacks 1 entries"),
            ("line removed", { $0.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.hasSuffix(" suid-like") }.joined(separator: "\n") }, { _ in false }, "is not in the archive's tree record"),
            ("garbage line", { $0 + "x y z\n" }, { _ in false }, "does not parse"),
            ("other kind", { $0.replacingOccurrences(of: "kind media", with: "kind code") }, { _ in false }, "code tree"),
        ]
        for (what, edit, drop, message) in cases {
            let mutant = t.path + "/var/backups/1700000000_filesystem_media.tgz"
            try repack(path, to: mutant, edit: edit, drop: drop)
            let report = BackupVerifier(settings: nil, threads: 2).verify(mutant, kind: .media)
            XCTAssertFalse(report.ok, what)
            XCTAssertTrue(report.damage?.contains(message) ?? false, "\(what): \(report.damage ?? "")")
            unlink(mutant)
        }
    }

    /// An incremental whose record gives the full backup a file the full backup lacks: the
    /// rollback fails while staging (naming the full backup) and the live tree stays.
    func testChainRollbackRefusesARecordTheArchivesDoNotMatch() throws {
        let t = try makeSmallStore()
        _ = try backup(t, ["--incremental"])
        try sh("echo v2 > '\(t.path)/pub/media/wysiwyg/new.txt'")
        let incr = try backup(t, ["--incremental"])
        try repack(incr, to: incr + ".tmp", edit: { $0 + "0 f 644 3 1.000000000 1.000000000 9 zzz-not-there\n" })
        try sh("mv '\(incr).tmp' '\(incr)'")
        let live = try manifest(t.path + "/pub/media")
        let r = try fastbackup(["setup:rollback", "-m", (incr as NSString).lastPathComponent, "-n", "--no-maintenance", "--root", t.path])
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("_filesystem_media.tgz lacks 1 entries"), r.stderr)
        XCTAssertEqual(try manifest(t.path + "/pub/media"), live)
    }

    /// Lines round-trip, whatever bytes a name holds; walk order puts a folder's subtree
    /// before a sibling whose name extends the folder's with a byte below `/`.
    func testLinesRoundTripAndWalkOrder() throws {
        var st = stat()
        st.st_mode = S_IFREG | 0o640
        st.st_size = 12
        st.st_mtim = timespec(tv_sec: 1_700_000_000, tv_nsec: 5)
        st.st_ctim = timespec(tv_sec: -3, tv_nsec: 999_999_999)
        st.st_ino = 77
        let line = TreeRecord.Line(path: [0x61, 0x20, 0x25, 0x0A, 0xFF, 0x2F, 0x62], info: st, holder: 3)
        var out: [UInt8] = []
        line.encode(into: &out)
        XCTAssertEqual(out.last, 0x0A)
        XCTAssertEqual(TreeRecord.Line.parse(out.dropLast()[...]), line)
        XCTAssertLessThan(WalkOrder.compare(PathBytes(path: "a/z"), PathBytes(path: "a-b")), 0)
        XCTAssertLessThan(WalkOrder.compare(PathBytes(path: "a"), PathBytes(path: "a/b")), 0)
        XCTAssertGreaterThan(WalkOrder.compare(PathBytes(path: "a.b"), PathBytes(path: "a/zz")), 0)
        XCTAssertEqual(WalkOrder.compare(PathBytes(path: "x/y"), PathBytes(path: "x/y")), 0)
    }
}
