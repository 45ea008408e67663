import Foundation
import XCTest
@testable import StreamTar
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Reader behaviour beyond the per-format round trips: global pax headers, offsets, partial
/// body reads, old-style directories, and the real product-image corpus.
final class TarReaderTests: XCTestCase {
    private func block(_ name: [UInt8], flag: UInt8, size: Int, magic: String = "ustar\0", version: String = "00", userName: String = "") -> [UInt8] {
        var b = TarBlock()
        b.storeBytes(name, TarBlock.Field.name)
        b.storeOctal(0o644, TarBlock.Field.mode)
        b.storeOctal(0, TarBlock.Field.uid)
        b.storeOctal(0, TarBlock.Field.gid)
        b.storeOctal(Int64(size), TarBlock.Field.size)
        b.storeOctal(1, TarBlock.Field.mtime)
        b.bytes[TarBlock.Field.typeFlag] = flag
        b.storeBytes(magic.utf8, TarBlock.Field.magic)
        b.storeBytes(version.utf8, TarBlock.Field.version)
        b.storeBytes(userName.utf8, TarBlock.Field.userName)
        b.storeChecksum()
        return b.bytes
    }

    private func withBody(_ header: [UInt8], _ body: [UInt8]) -> [UInt8] {
        header + body + [UInt8](repeating: 0, count: Int(tarPadding(Int64(body.count))))
    }

    /// Command: tar --format=pax --pax-option=uname=everyone,comment=hello -cf g.tar -C tree d
    func testGNUTarGlobalHeaderAppliesToEveryEntry() throws {
        let tmp = try makeTemporaryDirectory(self)
        let tree = tmp.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree.appendingPathComponent("d"), withIntermediateDirectories: true)
        try writeFile(tree.appendingPathComponent("d/f"), Array("hi\n".utf8))
        let archive = tmp.appendingPathComponent("g.tar")
        let create = try runTool("tar", ["--format=pax", "--pax-option=uname=everyone,comment=hello", "-cf", archive.path, "-C", tree.path, "d"])
        XCTAssertEqual(create.status, 0, create.stderr)
        let bytes = try readFile(archive)
        XCTAssertEqual(bytes[156], UInt8(ascii: "g"), "fixture starts with a global header")
        let entries = try readArchive(bytes)
        XCTAssertEqual(entries.map(\.header.name), ["d/", "d/f"])
        XCTAssertEqual(entries.map(\.header.userName), ["everyone", "everyone"])
        XCTAssertEqual(entries.last?.body, Array("hi\n".utf8))
    }

    /// A local record with an empty value cancels a global one; local records win over global.
    func testLocalRecordsOverrideAndCancelGlobalOnes() throws {
        let global = Array("18 uname=everyone\n14 mtime=-5.5\n".utf8)
        let cancel = Array("9 uname=\n".utf8)
        let rename = Array("21 path=renamed/file\n".utf8)
        let archive = withBody(block(Array("g".utf8), flag: UInt8(ascii: "g"), size: global.count), global)
            + block(Array("one".utf8), flag: UInt8(ascii: "0"), size: 0, userName: "ustar-one")
            + withBody(block(Array("x".utf8), flag: UInt8(ascii: "x"), size: cancel.count + rename.count), cancel + rename)
            + block(Array("two".utf8), flag: UInt8(ascii: "0"), size: 0, userName: "ustar-two")
            + block(Array("three".utf8), flag: UInt8(ascii: "0"), size: 0, userName: "ustar-three")
            + [UInt8](repeating: 0, count: 1024)
        let headers = try readArchive(archive).map(\.header)
        XCTAssertEqual(headers.map(\.name), ["one", "renamed/file", "three"])
        XCTAssertEqual(headers.map(\.userName), ["everyone", "ustar-two", "everyone"])
        XCTAssertEqual(headers.map(\.modificationTime), Array(repeating: TarTime(seconds: -6, nanoseconds: 500_000_000), count: 3))
    }

    /// v7 and old GNU archives mark directories by a trailing slash on a regular entry.
    func testOldStyleDirectoriesAndOffsets() throws {
        let archive = block(Array("dir/".utf8), flag: 0, size: 0, magic: "", version: "")
            + withBody(block(Array("dir/file".utf8), flag: UInt8(ascii: "0"), size: 5, magic: "", version: ""), Array("12345".utf8))
            + block(Array("gnu-dir/".utf8), flag: 0, size: 0, magic: "ustar ", version: " \0")
            + block(Array("not-a-dir/".utf8), flag: UInt8(ascii: "0"), size: 0)
        let reader = TarReader(source: MemorySource(archive, chunk: 100))
        var seen: [(TarPath, TarHeader.Kind, Int64)] = []
        while let header = try reader.next() { seen.append((header.name, header.kind, reader.offset)) }
        XCTAssertEqual(seen.map(\.0), ["dir/", "dir/file", "gnu-dir/", "not-a-dir/"])
        XCTAssertEqual(seen.map(\.1), [.directory, .regular, .directory, .regular])
        XCTAssertEqual(seen.map(\.2), [0, 512, 1536, 2048])
    }

    /// Bodies come out in pieces of whatever size the caller asks, across source boundaries.
    func testPartialBodyReads() throws {
        var rng = SeededRandom(seed: 7)
        let body = rng.bytes(200_000)
        let sink = MemorySink()
        let writer = TarWriter(sink: sink)
        try writer.writeHeader(TarHeader(name: "f", size: Int64(body.count)))
        try body.withUnsafeBytes { try writer.writeBody($0) }
        try writer.finish()
        for (chunk, piece) in [(Int.max, 1), (333, 70_000), (65_537, 100_000), (Int.max, 200_001)] {
            let reader = TarReader(source: MemorySource(sink.bytes, chunk: chunk))
            _ = try reader.next()
            var got: [UInt8] = []
            var buf = [UInt8](repeating: 0, count: piece)
            while true {
                let n = try buf.withUnsafeMutableBytes { try reader.readBody(into: $0) }
                if n == 0 { break }
                XCTAssertLessThanOrEqual(n, piece)
                got += buf[0..<n]
                if piece == 1 && got.count == 1000 { break }  // one-byte reads: a prefix is enough
            }
            XCTAssertEqual(got, Array(body.prefix(got.count)), "chunk \(chunk) piece \(piece)")
            XCTAssertEqual(got.count, piece == 1 ? 1000 : body.count)
            XCTAssertNil(try reader.next())
        }
    }

    /// The real product-image corpus, archived by StreamTar and checked by GNU tar's own
    /// comparison against the files on disk (content, size, mode, mtime, owner).
    /// Command: tar --diff -f media.tar -C <corpus>
    func testCorpusArchiveMatchesFilesPerGNUTarDiff() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/corpus")
        let media = corpus.appendingPathComponent("media")
        guard FileManager.default.fileExists(atPath: media.path) else {
            throw XCTSkip("shared corpus not present at \(media.path); the edge-case tree tests cover the same paths")
        }
        let tmp = try makeTemporaryDirectory(self)
        let archive = tmp.appendingPathComponent("media.tar")
        let fd = open(archive.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let sink = FileDescriptorSink(fd: fd, path: archive.path)
        let writer = TarWriter(sink: sink)
        var count = 0
        var links = HardLinkTracker()
        let names = TarOwnerNames()
        func walk(_ relative: String) throws {
            for name in try listDirectory(Array(media.appendingPathComponent(relative).path.utf8)) {
                let rel = relative.isEmpty ? String(decoding: name, as: UTF8.self) : relative + "/" + String(decoding: name, as: UTF8.self)
                let full = Array(media.appendingPathComponent(rel).path.utf8)
                let st = try lstatBytes(full)
                let target = links.linkTarget(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), linkCount: UInt64(st.st_nlink),
                                              name: TarPath("media/" + rel))
                var header = try XCTUnwrap(TarHeader(name: TarPath("media/" + rel), fileStatus: st, linkName: target ?? TarPath(bytes: [])))
                names.fill(&header)
                try writer.writeHeader(header)
                count += 1
                if header.kind == .regular {
                    let file = open(cPath(full), O_RDONLY)
                    defer { close(file) }
                    XCTAssertEqual(try writer.writeBody(fromFileDescriptor: file, path: rel), .complete)
                }
                if header.kind == .directory { try walk(rel) }
            }
        }
        try walk("")
        try writer.finish()
        close(fd)
        XCTAssertGreaterThan(count, 100)

        let diff = try runTool("tar", ["--diff", "-f", archive.path, "-C", corpus.path])
        XCTAssertEqual(diff.status, 0, "GNU tar found differences: \(String(decoding: diff.stdout, as: UTF8.self)) \(diff.stderr)")
        XCTAssertEqual(try readArchive(readFile(archive)).count, count)
    }
}
