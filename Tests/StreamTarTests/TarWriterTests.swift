import Foundation
import XCTest
@testable import StreamTar
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Keeps the bytes outside the body of one huge entry and only counts the body, so an
/// 8 GiB entry can be written and read back without 8 GiB of memory or disk.
final class HoleSink: TarByteSink {
    var kept: [UInt8] = []
    var total: Int64 = 0
    var holeStart: Int64 = .max
    var holeLength: Int64 = 0
    func write(_ chunk: UnsafeRawBufferPointer) throws {
        let start = total
        let end = total + Int64(chunk.count)
        let beforeHole = min(end, holeStart)
        if beforeHole > start { kept += chunk[0..<Int(beforeHole - start)] }
        let afterHole = max(start, holeStart == .max ? .max : holeStart + holeLength)
        if end > afterHole { kept += chunk[Int(afterHole - start)...] }
        total = end
    }
}

/// Replays a `HoleSink` capture: the kept bytes with `holeLength` bytes of zeros at `holeStart`.
final class HoleSource: TarByteSource {
    let kept: [UInt8]
    let holeStart: Int64
    let holeLength: Int64
    var position: Int64 = 0
    init(_ sink: HoleSink) {
        kept = sink.kept
        holeStart = sink.holeStart
        holeLength = sink.holeLength
    }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let total = Int64(kept.count) + holeLength
        guard position < total else { return 0 }
        let n: Int
        if position < holeStart {
            n = Int(min(Int64(buffer.count), holeStart - position))
            kept.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + Int(position), byteCount: n) }
        } else if position < holeStart + holeLength {
            n = Int(min(Int64(buffer.count), holeStart + holeLength - position))
            memset(buffer.baseAddress!, 0, n)
        } else {
            n = Int(min(Int64(buffer.count), total - position))
            let from = Int(position - holeLength)
            kept.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + from, byteCount: n) }
        }
        position += Int64(n)
        return n
    }
}

/// A sink that fails on the n-th write with a given errno, like a disk filling up.
final class FailingSink: TarByteSink {
    var writesLeft: Int
    init(failAfter writes: Int) { writesLeft = writes }
    func write(_ chunk: UnsafeRawBufferPointer) throws {
        if writesLeft == 0 { throw TarError(.io(operation: "write"), errno: ENOSPC, path: "failing-sink") }
        writesLeft -= 1
    }
}

final class TarWriterTests: XCTestCase {
    private func archive(_ entries: [(TarHeader, [UInt8])]) throws -> [UInt8] {
        let sink = MemorySink()
        let writer = TarWriter(sink: sink)
        for (header, body) in entries {
            try writer.writeHeader(header)
            try body.withUnsafeBytes { try writer.writeBody($0) }
        }
        try writer.finish()
        return sink.bytes
    }

    /// Table: which fields force a pax record, and that the writer adds exactly those.
    func testFormatChoicePerHeader() throws {
        let base = TarHeader(name: "file", mode: 0o644, userName: "root", groupName: "root", modificationTime: TarTime(seconds: 1_600_000_000))
        let cases: [(String, (inout TarHeader) -> Void, [String])] = [
            ("plain", { _ in }, []),
            ("99-byte name", { $0.name = TarPath(bytes: pathOfLength(99, top: "d")) }, []),
            ("100-byte name", { $0.name = TarPath(bytes: pathOfLength(100, top: "d")) }, []),
            ("101-byte splittable name", { $0.name = TarPath(bytes: pathOfLength(101, top: "d")) }, []),
            ("155-byte splittable name", { $0.name = TarPath(bytes: pathOfLength(155, top: "d")) }, []),
            ("256-byte splittable name", { $0.name = TarPath(bytes: pathOfLength(155, top: "d") + Array("/".utf8) + Array(repeating: 0x7A, count: 100)) }, []),
            ("256-byte name without a 155/100 split", { $0.name = TarPath(bytes: pathOfLength(256, top: "d")) }, ["path"]),
            ("157-byte name with a 101-byte last part", { $0.name = TarPath(bytes: pathOfLength(55, top: "d") + Array("/".utf8) + Array(repeating: 0x7A, count: 101)) }, ["path"]),
            ("101-byte name without slash", { $0.name = TarPath(String(repeating: "n", count: 101)) }, ["path"]),
            ("300-byte name", { $0.name = TarPath(bytes: pathOfLength(300, top: "d")) }, ["path"]),
            ("raw bytes fit ustar", { $0.name = TarPath(bytes: [0xFF, 0xFE, 0x41]) }, []),
            ("100-byte link target", { $0.kind = .symbolicLink; $0.linkName = TarPath(String(repeating: "t", count: 100)) }, []),
            ("101-byte link target", { $0.kind = .symbolicLink; $0.linkName = TarPath(String(repeating: "t", count: 101)) }, ["linkpath"]),
            ("size 8 GiB - 1", { $0.size = (1 << 33) - 1 }, []),
            ("size 8 GiB", { $0.size = 1 << 33 }, ["size"]),
            ("uid 2^21 - 1", { $0.uid = (1 << 21) - 1 }, []),
            ("uid 2^21", { $0.uid = 1 << 21 }, ["uid"]),
            ("gid 2^21", { $0.gid = 1 << 21 }, ["gid"]),
            ("mtime -1", { $0.modificationTime = TarTime(seconds: -1) }, ["mtime"]),
            ("mtime 2^33", { $0.modificationTime = TarTime(seconds: 1 << 33) }, ["mtime"]),
            ("mtime 2^33 - 1", { $0.modificationTime = TarTime(seconds: (1 << 33) - 1) }, []),
            ("sub-second mtime", { $0.modificationTime = TarTime(seconds: 5, nanoseconds: 1) }, ["mtime"]),
            ("31-byte user name", { $0.userName = String(repeating: "u", count: 31) }, []),
            ("32-byte user name", { $0.userName = String(repeating: "u", count: 32) }, ["uname"]),
            ("32-byte group name", { $0.groupName = String(repeating: "g", count: 32) }, ["gname"]),
        ]
        for (label, change, wantKeys) in cases {
            var header = base
            change(&header)
            let reasons = TarFormat.extensionReasons(for: header)
            XCTAssertEqual(reasons.map(\.key).sorted(), wantKeys.sorted(), label)
            if header.size > 0 { continue }  // bodies of gigabytes are covered by testEightGiBPlusOneEntry
            let bytes = try archive([(header, [])])
            XCTAssertEqual(bytes[156], wantKeys.isEmpty ? header.kind.typeFlag : UInt8(ascii: "x"), label)
            XCTAssertEqual(bytes.count, (wantKeys.isEmpty ? 3 : 5) * 512, label)
            var expected = header
            if expected.kind.isHeaderOnly { expected.size = 0 }
            XCTAssertEqual(try readArchive(bytes).map(\.header), [expected], label)
        }
        let long = TarHeader(name: TarPath(String(repeating: "n", count: 300)))
        XCTAssertEqual(TarFormat.extensionReasons(for: long).map(\.description), ["ustar cannot hold a 300-byte name"])
    }

    /// Seeded random headers (any name bytes but NUL, any length, times far outside ustar,
    /// huge ids) survive a StreamTar write-read round trip exactly.
    func testRandomHeadersRoundTrip() throws {
        var rng = SeededRandom(seed: 0xC0FFEE)
        let kinds: [TarHeader.Kind] = [.regular, .directory, .symbolicLink, .hardLink, .fifo, .characterDevice, .blockDevice, .other(UInt8(ascii: "Q"))]
        var entries: [(TarHeader, [UInt8])] = []
        for _ in 0..<400 {
            func randomPath() -> TarPath {
                let length = [1, 50, 99, 100, 101, 155, 156, 256, 257, 400, 2000].randomElement(using: &rng)!
                return TarPath(bytes: (0..<length).map { _ in
                    Bool.random(using: &rng) ? UInt8(ascii: "/") : UInt8.random(in: 1...255, using: &rng)
                })
            }
            let kind = kinds.randomElement(using: &rng)!
            var header = TarHeader(name: randomPath(), kind: kind)
            if kind == .symbolicLink || kind == .hardLink { header.linkName = randomPath() }
            header.mode = UInt32.random(in: 0...0o7777, using: &rng)
            header.uid = Int.random(in: 0...Int(UInt32.max), using: &rng)
            header.gid = Int.random(in: 0...2_000_000, using: &rng)
            header.userName = String(repeating: "ü", count: Int.random(in: 0...20, using: &rng))
            header.groupName = Bool.random(using: &rng) ? "staff" : ""
            header.modificationTime = TarTime(seconds: Int64.random(in: -(1 << 40)...(1 << 40), using: &rng),
                                              nanoseconds: Bool.random(using: &rng) ? 0 : Int32.random(in: 0..<1_000_000_000, using: &rng))
            if kind == .characterDevice || kind == .blockDevice {
                header.devMajor = Int.random(in: 0...4095, using: &rng)
                header.devMinor = Int.random(in: 0...(1 << 20), using: &rng)
            }
            let body = kind.isHeaderOnly ? [] : rng.bytes(Int.random(in: 0...1500, using: &rng))
            header.size = Int64(body.count)
            entries.append((header, body))
        }
        let bytes = try archive(entries)
        let read = try readArchive(bytes, chunk: 1000)
        XCTAssertEqual(read.count, entries.count)
        for (got, (header, body)) in zip(read, entries) {
            // The writer ends a folder's name with `/`, as GNU tar does; everything else is as given.
            var expected = header
            if expected.kind == .directory, expected.name.bytes.last != UInt8(ascii: "/") { expected.name.bytes.append(UInt8(ascii: "/")) }
            XCTAssertEqual(got.header, expected)
            XCTAssertEqual(got.body, body, "\(header.name)")
        }

        // The other readers accept every one of these headers too.
        // Commands: tar -tvf random.tar; bsdtar -tvf random.tar
        let tmp = try makeTemporaryDirectory(self)
        let file = tmp.appendingPathComponent("random.tar")
        try writeFile(file, bytes)
        for tool in ["tar", "bsdtar"] {
            let listing = try runTool(tool, ["-tvf", file.path])
            XCTAssertEqual(listing.status, 0, "\(tool): \(listing.stderr.prefix(2000))")
        }
    }

    /// An 8 GiB + 1 byte entry needs a pax size record. GNU tar lists the header (of a truncated
    /// prefix of the archive) with the full size, and StreamTar skips the whole body.
    func testEightGiBPlusOneEntry() throws {
        let size: Int64 = 8_589_934_593
        let sink = HoleSink()
        let writer = TarWriter(sink: sink)
        try writer.writeHeader(TarHeader(name: "huge.bin", size: size, modificationTime: TarTime(seconds: 1_700_000_000)))
        sink.holeStart = writer.offset
        sink.holeLength = size
        let zeros = [UInt8](repeating: 0, count: TarWriter.bufferCapacity)
        var left = size
        try zeros.withUnsafeBytes { chunk in
            while left > 0 {
                let n = Int(min(left, Int64(chunk.count)))
                try writer.writeBody(UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
                left -= Int64(n)
            }
        }
        try writer.writeHeader(TarHeader(name: "after", size: 3))
        try [UInt8]([1, 2, 3]).withUnsafeBytes { try writer.writeBody($0) }
        try writer.finish()
        XCTAssertEqual(sink.total, 512 + 512 + 512 + size + 511 + 512 + 512 + 1024)
        XCTAssertTrue(sink.kept.starts(with: [UInt8]("PaxHeaders.0/huge.bin".utf8)))

        let reader = TarReader(source: HoleSource(sink))
        XCTAssertEqual(try reader.next()?.size, size)
        XCTAssertEqual(reader.offset, 1024)
        let after = try reader.next()
        XCTAssertEqual(after?.name, "after")
        var body = [UInt8](repeating: 0, count: 10)
        XCTAssertEqual(try body.withUnsafeMutableBytes { try reader.readBody(into: $0) }, 3)
        XCTAssertEqual(Array(body[0..<3]), [1, 2, 3])
        XCTAssertNil(try reader.next())

        // Command: tar -tvf prefix.tar   (prefix = the first 4 KiB: pax header, header, some body)
        let tmp = try makeTemporaryDirectory(self)
        let prefix = tmp.appendingPathComponent("prefix.tar")
        try writeFile(prefix, Array(sink.kept.prefix(1536)) + [UInt8](repeating: 0, count: 2560))
        let listing = try runTool("tar", ["-tvf", prefix.path])
        let text = String(decoding: listing.stdout, as: UTF8.self)
        XCTAssertTrue(text.contains(" 8589934593 ") && text.contains("huge.bin"), "GNU tar listed: \(text) \(listing.stderr)")
    }

    func testUsageErrorsAndStickyFinish() throws {
        let writer = TarWriter(sink: MemorySink())
        try writer.writeHeader(TarHeader(name: "a", size: 4))
        XCTAssertThrowsError(try [UInt8]([1, 2, 3, 4, 5]).withUnsafeBytes { try writer.writeBody($0) }) {
            XCTAssertEqual(($0 as? TarError)?.kind, .bodyTooLong(size: 4, attempted: 5))
        }
        try [UInt8]([1, 2]).withUnsafeBytes { try writer.writeBody($0) }
        XCTAssertThrowsError(try writer.writeHeader(TarHeader(name: "b"))) {
            XCTAssertEqual(($0 as? TarError)?.kind, .previousBodyIncomplete(remaining: 2))
            XCTAssertEqual(($0 as? TarError)?.entry, "a")
        }
        XCTAssertThrowsError(try writer.finish()) { XCTAssertEqual(($0 as? TarError)?.kind, .previousBodyIncomplete(remaining: 2)) }
        try [UInt8]([3, 4]).withUnsafeBytes { try writer.writeBody($0) }
        try writer.finish()
        for call in [{ try writer.finish() }, { try writer.writeHeader(TarHeader(name: "c")) }, { try writer.flush() }] {
            XCTAssertThrowsError(try call()) { XCTAssertEqual(($0 as? TarError)?.kind, .writerFinished) }
        }
    }

    func testUnrepresentableHeadersAreRefused() throws {
        let cases: [(String, TarHeader)] = [
            ("empty name", TarHeader(name: TarPath(bytes: []))),
            ("NUL in name", TarHeader(name: TarPath(bytes: [0x61, 0, 0x62]))),
            ("NUL in link", TarHeader(name: "l", kind: .symbolicLink, linkName: TarPath(bytes: [0x61, 0]))),
            ("link without target", TarHeader(name: "l", kind: .hardLink)),
            ("mode beyond 07777", TarHeader(name: "m", mode: 0o100644)),
            ("negative uid", TarHeader(name: "u", uid: -1)),
            ("uid beyond 32 bits", TarHeader(name: "u", uid: 1 << 32)),
            ("gid beyond 32 bits", TarHeader(name: "g", gid: 1 << 32)),
            ("negative size", TarHeader(name: "s", size: -1)),
            ("device beyond octal", TarHeader(name: "d", kind: .blockDevice, devMajor: 1 << 21)),
            ("reserved type flag", TarHeader(name: "x", kind: .other(UInt8(ascii: "x")))),
            ("nanoseconds out of range", TarHeader(name: "t", modificationTime: TarTime(seconds: 0, nanoseconds: 1_000_000_000))),
        ]
        for (label, header) in cases {
            let sink = MemorySink()
            let writer = TarWriter(sink: sink)
            XCTAssertThrowsError(try writer.writeHeader(header), label) { error in
                guard case .unrepresentable = (error as? TarError)?.kind else { return XCTFail("\(label): \(error)") }
            }
            // The refusal wrote nothing and left the writer usable.
            try writer.writeHeader(TarHeader(name: "ok"))
            try writer.finish()
            XCTAssertEqual(try readArchive(sink.bytes).map(\.header.name), ["ok"], label)
        }
    }

    func testSinkErrorsAreSticky() throws {
        let writer = TarWriter(sink: FailingSink(failAfter: 0))
        try writer.writeHeader(TarHeader(name: "a", size: 0))  // staged only
        XCTAssertThrowsError(try writer.finish()) { XCTAssertEqual(($0 as? TarError)?.errno, ENOSPC) }
        XCTAssertThrowsError(try writer.writeHeader(TarHeader(name: "b"))) { XCTAssertEqual(($0 as? TarError)?.errno, ENOSPC) }
    }

    /// A real full disk: /dev/full fails every write with ENOSPC.
    func testFileDescriptorSinkReportsErrnoAndPath() throws {
        let fd = open("/dev/full", O_WRONLY)
        guard fd >= 0 else { throw XCTSkip("/dev/full not available") }
        defer { close(fd) }
        let sink = FileDescriptorSink(fd: fd, path: "/dev/full")
        XCTAssertThrowsError(try [UInt8]([1, 2, 3]).withUnsafeBytes { try sink.write($0) }) { error in
            let e = error as? TarError
            XCTAssertEqual(e?.errno, ENOSPC)
            XCTAssertEqual(e?.path, "/dev/full")
            XCTAssertTrue(e?.description.contains("No space left on device") ?? false, "\(error)")
        }
        let dir = open("/", O_RDONLY | O_DIRECTORY)
        defer { close(dir) }
        var byte = [UInt8](repeating: 0, count: 1)
        XCTAssertThrowsError(try byte.withUnsafeMutableBytes { try FileDescriptorSource(fd: dir, path: "/").read(into: $0) }) {
            XCTAssertEqual(($0 as? TarError)?.errno, EISDIR)
        }
    }

    /// writeBody(fromFileDescriptor:) copies exactly size bytes and reports a file that
    /// shrank (zero-padded) or grew (cut) since its header was made.
    func testBodyCopyFromDescriptor() throws {
        let tmp = try makeTemporaryDirectory(self)
        var rng = SeededRandom(seed: 42)
        let content = rng.bytes(3 * TarWriter.bufferCapacity + 17)
        let file = tmp.appendingPathComponent("f")
        try writeFile(file, content)
        let cases: [(Int64, BodyCopyResult, [UInt8])] = [
            (Int64(content.count), .complete, content),
            (Int64(content.count + 1000), .shrank(read: Int64(content.count)), content + [UInt8](repeating: 0, count: 1000)),
            (Int64(content.count - 1), .grew, Array(content.dropLast())),
            (0, .grew, []),
            (TarWriter.bufferCapacity.asInt64, .grew, Array(content.prefix(TarWriter.bufferCapacity))),
        ]
        for (size, wantResult, wantBody) in cases {
            let fd = open(file.path, O_RDONLY)
            defer { close(fd) }
            let sink = MemorySink()
            let writer = TarWriter(sink: sink)
            try writer.writeHeader(TarHeader(name: "f", size: size))
            XCTAssertEqual(try writer.writeBody(fromFileDescriptor: fd, path: file.path), wantResult, "size \(size)")
            try writer.finish()
            let entries = try readArchive(sink.bytes)
            XCTAssertEqual(entries.count, 1)
            XCTAssertEqual(entries.first?.body, wantBody, "size \(size)")
        }
    }

    func testHardLinkTracker() {
        var tracker = HardLinkTracker()
        XCTAssertNil(tracker.linkTarget(device: 1, inode: 10, linkCount: 1, name: "single"))
        XCTAssertNil(tracker.linkTarget(device: 1, inode: 10, linkCount: 1, name: "single-again"))
        XCTAssertNil(tracker.linkTarget(device: 1, inode: 20, linkCount: 3, name: "first"))
        XCTAssertEqual(tracker.linkTarget(device: 1, inode: 20, linkCount: 3, name: "second"), "first")
        XCTAssertNil(tracker.linkTarget(device: 2, inode: 20, linkCount: 2, name: "other-device"))
        XCTAssertEqual(tracker.linkTarget(device: 1, inode: 20, linkCount: 3, name: "third"), "first")
    }

    /// The two-step use: a name counts only once recorded as written, so a first name whose
    /// body never got in is no link target; the first recorded name stays the target.
    func testHardLinkTrackerTargetsOnlyWrittenNames() {
        var tracker = HardLinkTracker()
        XCTAssertNil(tracker.target(device: 1, inode: 20, linkCount: 2))
        tracker.written(device: 1, inode: 10, linkCount: 1, name: "single")
        XCTAssertNil(tracker.target(device: 1, inode: 10, linkCount: 1))
        // "vanished" was seen but never written: the next name is written and becomes the target.
        XCTAssertNil(tracker.target(device: 1, inode: 20, linkCount: 2))
        tracker.written(device: 1, inode: 20, linkCount: 2, name: "second")
        tracker.written(device: 1, inode: 20, linkCount: 2, name: "third")
        XCTAssertEqual(tracker.target(device: 1, inode: 20, linkCount: 2), "second")
        XCTAssertNil(tracker.target(device: 2, inode: 20, linkCount: 2))
    }

    /// Headers from lstat: each file type maps to its kind; sockets cannot be archived.
    func testHeaderFromFileStatus() throws {
        let tmp = try makeTemporaryDirectory(self)
        let base = Array(tmp.path.utf8)
        try buildTree([
            TreeSpec(path: Array("d".utf8), node: .directory, mode: 0o750, mtime: 12345),
            TreeSpec(path: Array("f".utf8), node: .file([1, 2, 3]), mode: 0o4711, mtime: -7),
            TreeSpec(path: Array("l".utf8), node: .symlink(Array("f".utf8))),
        ], under: base)
        try check(mkfifo(cPath(join(base, Array("p".utf8))), 0o600), "mkfifo", base)
        let cases: [(String, TarHeader.Kind, UInt32, Int64)] = [("d", .directory, 0o750, 0), ("f", .regular, 0o4711, 3), ("p", .fifo, 0o600, 0)]
        for (name, kind, mode, size) in cases {
            let header = try XCTUnwrap(TarHeader(name: TarPath(name), fileStatus: lstatBytes(join(base, Array(name.utf8)))))
            XCTAssertEqual([header.kind], [kind], name)
            XCTAssertEqual(header.mode, mode, name)
            XCTAssertEqual(header.size, size, name)
            XCTAssertEqual(header.uid, Int(geteuid()), name)
        }
        XCTAssertEqual(TarHeader(name: "f", fileStatus: try lstatBytes(join(base, Array("f".utf8))))?.modificationTime, TarTime(seconds: -7))
        XCTAssertEqual(TarHeader(name: "l", fileStatus: try lstatBytes(join(base, Array("l".utf8))), linkName: "f")?.kind, .symbolicLink)
        let hard = TarHeader(name: "g", fileStatus: try lstatBytes(join(base, Array("f".utf8))), linkName: "f")
        XCTAssertEqual(hard?.kind, .hardLink)
        XCTAssertEqual(hard?.size, 0)

        // A listening Unix socket: tar has no type for it.
        let socketPath = join(base, Array("s".utf8))
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in socketPath.prefix(raw.count - 1).enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try check(bound, "bind", socketPath)
        XCTAssertNil(TarHeader(name: "s", fileStatus: try lstatBytes(socketPath)))
    }

    func testOwnerNames() {
        let names = TarOwnerNames()
        XCTAssertEqual(names.userName(0), "root")
        XCTAssertEqual(names.groupName(0), "root")
        XCTAssertEqual(names.userName(3_999_999), "", "an id without a passwd entry has no name")
        var header = TarHeader(name: "x", uid: 0, gid: 0)
        names.fill(&header)
        XCTAssertEqual([header.userName, header.groupName], ["root", "root"])
    }

    func testPAXTimeText() throws {
        let cases: [(TarTime, String)] = [
            (TarTime(seconds: 0), "0"), (TarTime(seconds: -1), "-1"), (TarTime(seconds: 5, nanoseconds: 500_000_000), "5.5"),
            (TarTime(seconds: -1, nanoseconds: 500_000_000), "-0.5"), (TarTime(seconds: -2, nanoseconds: 1), "-1.999999999"),
            (TarTime(seconds: 1_700_000_000, nanoseconds: 123_456_789), "1700000000.123456789"),
        ]
        for (time, text) in cases {
            XCTAssertEqual(PAXRecords.formatTime(time), text)
            XCTAssertEqual(try PAXRecords.parseTime(Array(text.utf8), key: "mtime"), time, text)
        }
        // GNU tar may write more than nine fraction digits; they are cut, not rounded.
        XCTAssertEqual(try PAXRecords.parseTime(Array("1.1234567899".utf8), key: "mtime"), TarTime(seconds: 1, nanoseconds: 123_456_789))
    }
    /// `tar -t` of GNU tar's own archive lists `app/`; ours must too, once, however the name came.
    func testFolderNamesEndInOneSlash() throws {
        let bytes = try archive([(TarHeader(name: "app", kind: .directory, mode: 0o755), []),
                                 (TarHeader(name: "app/etc/", kind: .directory, mode: 0o755), []),
                                 (TarHeader(name: "app/etc/env.php", size: 3), Array("php".utf8))])
        let names = try readArchive(bytes, chunk: 512).map { String(decoding: $0.header.name.bytes, as: UTF8.self) }
        XCTAssertEqual(names, ["app/", "app/etc/", "app/etc/env.php"])
    }
}

extension Int {
    var asInt64: Int64 { Int64(self) }
}
