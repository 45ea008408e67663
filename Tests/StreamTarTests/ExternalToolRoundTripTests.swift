import Foundation
import XCTest
@testable import StreamTar
#if canImport(Glibc)
import Glibc
#endif

/// StreamTar writes, GNU tar 1.34 and bsdtar list and extract; the extracted tree must equal
/// the tree that was archived (type, mode, owner, size, mtime, content, link targets, hard-link
/// groups). And the reverse: GNU tar writes in each of its formats, StreamTar reads.
final class ExternalToolRoundTripTests: XCTestCase {
    /// Builds `specs` in a fresh folder and returns (temporary folder, tree root path bytes).
    private func makeTree(_ specs: [TreeSpec]) throws -> (URL, [UInt8]) {
        let tmp = try makeTemporaryDirectory(self)
        let root = Array(tmp.appendingPathComponent("source").path.utf8)
        try check(mkdir(cPath(root), 0o755), "mkdir", root)
        try buildTree(specs, under: root)
        return (tmp, root)
    }

    private func writeWithStreamTar(_ root: [UInt8], to archive: URL, keepSubsecondTimes: Bool = false) throws {
        let fd = open(archive.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        try archiveTree(root, to: FileDescriptorSink(fd: fd, path: archive.path), keepSubsecondTimes: keepSubsecondTimes)
    }

    /// GNU tar may only warn about the hdrcharset keyword it does not know (documented in
    /// TarFormat) and, when extracting, about the deliberately odd time stamps of the tree.
    private func assertOnlyKnownWarnings(_ stderr: String, file: StaticString = #filePath, line: UInt = #line) {
        let known = ["Ignoring unknown extended header keyword 'hdrcharset'", "implausibly old time stamp", "s in the future"]
        let lines = stderr.split(separator: "\n").filter { line in !known.contains { line.contains($0) } }
        XCTAssertEqual(lines, [], "unexpected messages: \(stderr)", file: file, line: line)
    }

    private func assertSameTree(_ expected: [[UInt8]: Snapshot], _ actual: [[UInt8]: Snapshot], tool: String,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(expected.keys), Set(actual.keys),
                       "\(tool): paths differ; missing \(Set(expected.keys).subtracting(actual.keys).map { TarPath(bytes: $0).description }), "
                           + "extra \(Set(actual.keys).subtracting(expected.keys).map { TarPath(bytes: $0).description })", file: file, line: line)
        for (path, want) in expected {
            guard let got = actual[path] else { continue }
            XCTAssertEqual(got, want, "\(tool): \(TarPath(bytes: path))", file: file, line: line)
        }
    }

    func testGNUTarListsAndExtractsWhatStreamTarWrote() throws {
        let specs = edgeCaseTree()
        let (tmp, root) = try makeTree(specs)
        let archive = tmp.appendingPathComponent("streamtar.tar")
        try writeWithStreamTar(root, to: archive)
        let expected = try snapshotTree(root)
        XCTAssertEqual(expected.count, specs.count)

        // Command: tar -tvf streamtar.tar   (one line per entry; GNU tar escapes the newline name)
        let listing = try runTool("tar", ["-tvf", archive.path])
        XCTAssertEqual(listing.status, 0, listing.stderr)
        assertOnlyKnownWarnings(listing.stderr)
        let lines = String(decoding: listing.stdout, as: UTF8.self).split(separator: "\n")
        XCTAssertEqual(lines.count, specs.count)
        XCTAssertTrue(lines.contains { $0.contains("text/Grüße – 日本語.txt") }, "listing lacks the UTF-8 name")
        XCTAssertTrue(lines.contains { $0.hasPrefix("-rwsr-xr-x") && $0.hasSuffix("modes/04755") }, "listing lacks the setuid mode")
        XCTAssertTrue(lines.contains { $0.contains("3000000/4000000") }, "listing lacks the large ids")

        // Command: tar -xf streamtar.tar -C gnu-out   (as root: owners and modes restored)
        let out = tmp.appendingPathComponent("gnu-out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: false)
        let extract = try runTool("tar", ["-xf", archive.path, "-C", out.path])
        XCTAssertEqual(extract.status, 0, extract.stderr)
        assertOnlyKnownWarnings(extract.stderr)
        guard geteuid() == 0 else { throw XCTSkip("tree comparison needs root to restore owners") }
        assertSameTree(expected, try snapshotTree(Array(out.path.utf8)), tool: "GNU tar")
    }

    func testBsdtarExtractsWhatStreamTarWrote() throws {
        let specs = edgeCaseTree()
        let (tmp, root) = try makeTree(specs)
        let archive = tmp.appendingPathComponent("streamtar.tar")
        try writeWithStreamTar(root, to: archive)
        let expected = try snapshotTree(root)

        // Command: bsdtar -tvf streamtar.tar
        let listing = try runTool("bsdtar", ["-tvf", archive.path])
        XCTAssertEqual(listing.status, 0, listing.stderr)
        XCTAssertEqual(listing.stderr, "")
        XCTAssertEqual(String(decoding: listing.stdout, as: UTF8.self).split(separator: "\n").count, specs.count)

        // Command: bsdtar -xf streamtar.tar -C bsd-out   (as root: owners, modes and setuid restored)
        let out = tmp.appendingPathComponent("bsd-out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: false)
        let extract = try runTool("bsdtar", ["-xf", archive.path, "-C", out.path])
        XCTAssertEqual(extract.status, 0, extract.stderr)
        XCTAssertEqual(extract.stderr, "")
        guard geteuid() == 0 else { throw XCTSkip("tree comparison needs root to restore owners") }
        assertSameTree(expected, try snapshotTree(Array(out.path.utf8)), tool: "bsdtar")
    }

    /// Device nodes keep their numbers through StreamTar and both extractors.
    /// Commands: tar -xf devices.tar -C gnu-out; bsdtar -xf devices.tar -C bsd-out
    func testDeviceNodesSurviveGNUTarAndBsdtar() throws {
        let specs = [
            TreeSpec(path: Array("null-like".utf8), node: .device(block: false, major: 1, minor: 3), mode: 0o666),
            TreeSpec(path: Array("big-numbers".utf8), node: .device(block: false, major: 4000, minor: 300_000), mode: 0o600),
            TreeSpec(path: Array("loop-like".utf8), node: .device(block: true, major: 7, minor: 0), mode: 0o660),
        ]
        let (tmp, root) = try makeTree(specs)
        let archive = tmp.appendingPathComponent("devices.tar")
        try writeWithStreamTar(root, to: archive)
        let entries = try readArchive(readFile(archive))
        XCTAssertEqual(entries.map(\.header.kind), [.characterDevice, .blockDevice, .characterDevice])
        XCTAssertEqual(entries.map(\.header.devMajor), [4000, 7, 1])
        XCTAssertEqual(entries.map(\.header.devMinor), [300_000, 0, 3])
        let expected = try snapshotTree(root)
        for (tool, args) in [("tar", ["-xf"]), ("bsdtar", ["-xf"])] {
            let out = tmp.appendingPathComponent("\(tool)-out")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: false)
            let extract = try runTool(tool, args + [archive.path, "-C", out.path])
            XCTAssertEqual(extract.status, 0, extract.stderr)
            assertSameTree(expected, try snapshotTree(Array(out.path.utf8)), tool: tool)
        }
    }

    func testSubsecondTimesSurviveGNUTar() throws {
        let specs = [
            TreeSpec(path: Array("a".utf8), node: .file([1, 2, 3]), mtime: 1_700_000_000, mtimeNanos: 123_456_789),
            TreeSpec(path: Array("b".utf8), node: .file([]), mtime: -2, mtimeNanos: 500_000_000),
        ]
        let (tmp, root) = try makeTree(specs)
        let archive = tmp.appendingPathComponent("nanos.tar")
        try writeWithStreamTar(root, to: archive, keepSubsecondTimes: true)
        let entries = try readArchive(readFile(archive))
        XCTAssertEqual(entries.map(\.header.modificationTime), [TarTime(seconds: 1_700_000_000, nanoseconds: 123_456_789),
                                                                  TarTime(seconds: -2, nanoseconds: 500_000_000)])
        // Command: tar -xf nanos.tar -C out
        let out = tmp.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: false)
        let extract = try runTool("tar", ["-xf", archive.path, "-C", out.path])
        XCTAssertEqual(extract.status, 0, extract.stderr)
        assertSameTree(try snapshotTree(root), try snapshotTree(Array(out.path.utf8)), tool: "GNU tar")
    }

    /// Command (per format F): tar --format=F --sort=name -cf F.tar -C source <top-level names>
    func testStreamTarReadsEveryGNUTarFormat() throws {
        for format in TreeFormat.allCases {
            let specs = edgeCaseTree().filter { format.canHold($0) }
            let (tmp, root) = try makeTree(specs)
            let archive = tmp.appendingPathComponent("\(format).tar")
            let topLevel = try listDirectory(root).map { String(decoding: $0, as: UTF8.self) }
            let create = try runTool("tar", ["--format=\(format)", "--sort=name", "-cf", archive.path, "-C", String(decoding: root, as: UTF8.self)] + topLevel)
            XCTAssertEqual(create.status, 0, "\(format): \(create.stderr)")

            let expected = try snapshotTree(root)
            let bytes = try readFile(archive)
            for chunk in [Int.max, 509] {
                let entries = try readArchive(bytes, chunk: chunk)
                assertEntries(entries, match: expected, format: "\(format) (source chunk \(chunk))")
            }
        }
    }

    /// GNU sparse files are not expanded; they must come back marked as sparse, never as a
    /// regular file with the wrong bytes.
    /// Command (per format F): tar --format=F --sparse -cf F.tar -C tree sparse.bin
    func testGNUSparseEntriesAreMarkedNotMisread() throws {
        let tmp = try makeTemporaryDirectory(self)
        let tree = tmp.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: false)
        let file = tree.appendingPathComponent("sparse.bin")
        XCTAssertTrue(FileManager.default.createFile(atPath: file.path, contents: nil))
        let handle = try FileHandle(forWritingTo: file)
        try handle.seek(toOffset: 1 << 20)
        try handle.write(contentsOf: Data("data after a hole".utf8))
        try handle.close()
        for format in ["gnu", "pax"] {
            let archive = tmp.appendingPathComponent("\(format).tar")
            let create = try runTool("tar", ["--format=\(format)", "--sparse", "-cf", archive.path, "-C", tree.path, "sparse.bin"])
            XCTAssertEqual(create.status, 0, create.stderr)
            let entries = try readArchive(readFile(archive))
            XCTAssertEqual(entries.count, 1, format)
            XCTAssertEqual(entries.first?.header.kind, .other(UInt8(ascii: "S")), format)
        }
    }

    /// Compares what StreamTar read with the tree on disk that GNU tar archived.
    private func assertEntries(_ entries: [ReadEntry], match tree: [[UInt8]: Snapshot], format: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        var seen = Set<[UInt8]>()
        for entry in entries {
            var name = entry.header.name.bytes
            if name.count > 1 && name.last == UInt8(ascii: "/") { name.removeLast() }
            seen.insert(name)
            guard let want = tree[name] else {
                XCTFail("\(format): unexpected entry \(entry.header.name)", file: file, line: line)
                continue
            }
            let h = entry.header
            let what = "\(format): \(h.name)"
            switch h.kind {
            case .regular:
                XCTAssertEqual(want.type, UInt32(S_IFREG), what, file: file, line: line)
                XCTAssertEqual(entry.body, want.content, what, file: file, line: line)
                XCTAssertEqual(h.size, want.size, what, file: file, line: line)
            case .hardLink:
                XCTAssertEqual(want.type, UInt32(S_IFREG), what, file: file, line: line)
                XCTAssertTrue(want.hardLinkGroup.contains(h.linkName.bytes), "\(what) links to \(h.linkName)", file: file, line: line)
                XCTAssertEqual(entry.body, [], what, file: file, line: line)
            case .symbolicLink:
                XCTAssertEqual(want.type, UInt32(S_IFLNK), what, file: file, line: line)
                XCTAssertEqual(h.linkName.bytes, want.linkTarget, what, file: file, line: line)
            case .directory:
                XCTAssertEqual(want.type, UInt32(S_IFDIR), what, file: file, line: line)
            case .fifo:
                XCTAssertEqual(want.type, UInt32(S_IFIFO), what, file: file, line: line)
            default:
                XCTFail("\(what): unexpected kind \(h.kind)", file: file, line: line)
            }
            if h.kind != .symbolicLink { XCTAssertEqual(h.mode, want.mode, what, file: file, line: line) }
            XCTAssertEqual(h.modificationTime.seconds, want.mtime, what, file: file, line: line)
            XCTAssertEqual(h.uid, Int(want.uid), what, file: file, line: line)
            XCTAssertEqual(h.gid, Int(want.gid), what, file: file, line: line)
        }
        XCTAssertEqual(seen, Set(tree.keys), "\(format): entries differ from the tree", file: file, line: line)
    }
}
