import XCTest
import StreamTar  // deliberately not @testable: only the public surface is visible here

/// The executable and ParallelGzip are written against these exact shapes; this file stops
/// compiling if one of them drifts.
final class PublicAPIShapeTests: XCTestCase {
    final class CountingSink: TarByteSink {
        var count = 0
        func write(_ bytes: UnsafeRawBufferPointer) throws { count += bytes.count }
    }

    final class EmptySource: TarByteSource {
        func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int { 0 }
    }

    func testSignatures() throws {
        let sink = CountingSink()
        let writer = TarWriter(sink: sink)
        let writeHeader: (TarHeader) throws -> Void = writer.writeHeader
        let writeBody: (UnsafeRawBufferPointer) throws -> Void = writer.writeBody
        let copyBody: (Int32, String) throws -> BodyCopyResult = writer.writeBody(fromFileDescriptor:path:)
        let finish: () throws -> Void = writer.finish
        _ = (copyBody, writeBody)

        var header = TarHeader(name: "x")
        header.name = TarPath("a")
        header.linkName = TarPath(bytes: [])
        header.kind = .regular
        header.mode = 0o644
        header.uid = 1
        header.gid = 2
        header.userName = "u"
        header.groupName = "g"
        header.size = 0
        header.modificationTime = TarTime(seconds: -1, nanoseconds: 0)
        header.devMajor = 0
        header.devMinor = 0
        let kinds: [TarHeader.Kind] = [.regular, .hardLink, .symbolicLink, .characterDevice, .blockDevice, .directory, .fifo, .other(0x51)]
        XCTAssertEqual(Set(kinds).count, 8)
        let literal: TarPath = "literal"
        XCTAssertEqual(literal.bytes, Array("literal".utf8))
        XCTAssertEqual(literal.description, "literal")

        try writeHeader(header)
        try finish()
        XCTAssertEqual(sink.count, 512 * 5, "pax header (negative mtime), header, two zero blocks")

        let reader = TarReader(source: EmptySource())
        let next: () throws -> TarHeader? = reader.next
        let readBody: (UnsafeMutableRawBufferPointer) throws -> Int = reader.readBody(into:)
        _ = readBody
        XCTAssertNil(try next())
        let offset: Int64 = reader.offset
        XCTAssertEqual(offset, 0)

        var tracker = HardLinkTracker()
        let target: TarPath? = tracker.linkTarget(device: 1, inode: 2, linkCount: 1, name: "n")
        XCTAssertNil(target)

        let error = TarError(.truncated, entry: "e", offset: 5, errno: nil, path: nil)
        let kind: TarError.Kind = error.kind
        XCTAssertEqual(kind, .truncated)
        XCTAssertEqual(error.description, "tar: archive is truncated, entry \"e\", at byte 5")
        let results: [BodyCopyResult] = [.complete, .shrank(read: 1), .grew]
        XCTAssertEqual(results.count, 3)
        _ = FileDescriptorSink(fd: 1, path: "stdout") as TarByteSink
        _ = FileDescriptorSource(fd: 0, path: "stdin") as TarByteSource
    }
}
