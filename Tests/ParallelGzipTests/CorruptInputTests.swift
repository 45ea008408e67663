import Glibc
import XCTest
@testable import ParallelGzip
import CZlib
import TestSupport

/// Damaged input must fail with the right typed error, naming the member, and never hang.
final class CorruptInputTests: XCTestCase {
    let chunk = 40_000

    private func threeMembers(_ dir: TempDir, codec: CompressionCodec = .gzip, level: Int? = nil) throws -> (data: [UInt8], file: [UInt8]) {
        let data = InputKind.text.bytes(3 * chunk, seed: 61)
        let path = dir.path("three")
        try compressFile(data, to: path, options: CompressionOptions(codec: codec, level: level, threads: 2, chunkSize: chunk))
        return (data, try readFile(path))
    }

    private func expectError(_ bytes: [UInt8], _ dir: TempDir, threads: Int = 2,
                             file: StaticString = #filePath, line: UInt = #line) throws -> CompressionError? {
        let path = dir.path("bad")
        try writeFile(path, bytes)
        do {
            _ = try decompressFile(path, threads: threads)
            XCTFail("damaged input was accepted", file: file, line: line)
            return nil
        } catch let e as CompressionError {
            XCTAssertEqual(e.path, path, file: file, line: line)
            XCTAssertFalse(e.description.isEmpty)
            return e
        }
    }

    func testCRCMismatchNamesTheMember() throws {
        let dir = try TempDir()
        for level in [nil, 0] as [Int?] {  // compressed and stored members
            var (_, file) = try threeMembers(dir, level: level)
            let members = try XCTUnwrap(walkMembers(file))
            let second = members[1]
            file[second.offset + second.length - 8] ^= 0x55  // CRC-32 of member 2
            let e = try expectError(file, dir)
            XCTAssertEqual(e?.kind, .crcMismatch)
            XCTAssertEqual(e?.memberOffset, Int64(second.offset))
        }
    }

    func testISizeMismatch() throws {
        let dir = try TempDir()
        var (_, file) = try threeMembers(dir)
        let third = try XCTUnwrap(walkMembers(file))[2]
        file[third.offset + third.length - 4] ^= 0x01
        let e = try expectError(file, dir)
        XCTAssertEqual(e?.kind, .lengthMismatch)
        XCTAssertEqual(e?.memberOffset, Int64(third.offset))
    }

    /// A member whose size subfield claims more than its deflate data gives, with a CRC and ISIZE
    /// made over the data plus the zero bytes a fresh output buffer holds: libdeflate 1.14 calls
    /// a short output a success when asked for the length, and the member was delivered with
    /// zeros at its end, exit 0. It is a length mismatch now. Forged here with zlib: raw deflate of
    /// "hello", FB sizes for 100,000 bytes.
    func testMemberShorterThanItsSizeSubfieldIsRefused() throws {
        let dir = try TempDir()
        var body = [UInt8](repeating: 0, count: 64)
        var z = z_stream()
        XCTAssertEqual(czlib_deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK)
        var hello = Array("hello".utf8)
        let n = hello.withUnsafeMutableBufferPointer { h in body.withUnsafeMutableBufferPointer { o -> Int in
            z.next_in = h.baseAddress; z.avail_in = 5; z.next_out = o.baseAddress; z.avail_out = 64
            _ = deflate(&z, Z_FINISH)
            return 64 - Int(z.avail_out)
        } }
        deflateEnd(&z)
        let claimed = 100_000
        var padded = Array("hello".utf8) + [UInt8](repeating: 0, count: claimed - 5)
        let crc = UInt32(padded.withUnsafeMutableBufferPointer { crc32(0, $0.baseAddress, UInt32(claimed)) })
        let total = GzipMemberFormat.headerLength + n + 8
        var member = [UInt8](repeating: 0, count: total)
        member.withUnsafeMutableBytes { p in
            GzipMemberFormat.writeHeader(p.baseAddress!, memberLength: total, uncompressedLength: claimed)
            p.baseAddress!.advanced(by: GzipMemberFormat.headerLength).copyMemory(from: body, byteCount: n)
            storeLE32(p.baseAddress! + total - 8, crc)
            storeLE32(p.baseAddress! + total - 4, UInt32(claimed))
        }
        let e = try expectError(member, dir, threads: 1)
        XCTAssertEqual(e?.kind, .lengthMismatch, "\(String(describing: e))")
        _ = padded.count
    }

    /// FHCRC on a member with the size subfield: gzip checks it ("header checksum"), and so does
    /// the parallel path now.
    func testHeaderCRCIsChecked() throws {
        let dir = try TempDir()
        var (_, file) = try threeMembers(dir)
        // Insert FHCRC with a wrong value into the first member: set the flag, add 2 bytes after
        // the header and grow the member's own length by 2.
        let first = try XCTUnwrap(walkMembers(file))[0]
        let h = GzipMemberFormat.headerLength
        var member = Array(file[0..<first.length])
        member[3] |= 0x02
        member.insert(contentsOf: [0x34, 0x12], at: h)
        member.withUnsafeMutableBytes { storeLE64($0.baseAddress! + 16, UInt64(first.length + 2)) }
        file = member + Array(file[first.length...])
        let e = try expectError(file, dir)
        XCTAssertEqual(e?.memberOffset, 0)
    }

    func testCorruptDeflateData() throws {
        let dir = try TempDir()
        var (_, file) = try threeMembers(dir)
        let first = try XCTUnwrap(walkMembers(file))[0]
        for i in 0..<16 { file[first.offset + 40 + i] ^= 0xA5 }
        let e = try expectError(file, dir)
        XCTAssertTrue([.corruptData, .crcMismatch, .lengthMismatch].contains(e?.kind), "\(String(describing: e))")
        XCTAssertEqual(e?.memberOffset, 0)
    }

    func testTruncatedEverywhere() throws {
        let dir = try TempDir()
        let (_, file) = try threeMembers(dir)
        let members = try XCTUnwrap(walkMembers(file))
        // Inside a header, inside deflate data, inside a trailer, for each member.
        for m in members {
            for cut in [m.offset + 5, m.offset + 31, m.offset + m.length / 2, m.offset + m.length - 3] {
                let e = try expectError(Array(file[0..<cut]), dir)
                XCTAssertEqual(e?.kind, .truncated, "cut at \(cut)")
                XCTAssertEqual(e?.memberOffset, Int64(m.offset), "cut at \(cut)")
            }
        }
    }

    func testTrailingGarbage() throws {
        let dir = try TempDir()
        let (_, file) = try threeMembers(dir)
        for garbage in [[0x1f, 0x8c, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], Array("hello world\n".utf8)] {
            let e = try expectError(file + garbage, dir)
            XCTAssertEqual(e?.kind, .trailingGarbage, "\(garbage)")
            XCTAssertEqual(e?.memberOffset, Int64(file.count))
        }
        // Zeros then something else: the error names the first non-zero byte.
        let e = try expectError(file + [0, 0, 0, 7], dir)
        XCTAssertEqual(e?.kind, .trailingGarbage)
        XCTAssertEqual(e?.memberOffset, Int64(file.count + 3))
    }

    /// NUL padding after the last member (`dd conv=sync`, tape block sizes) is ignored, as GNU
    /// gzip ignores it (`gzip -t` exits 0): 1 byte, and 3 MiB across several reads.
    func testTrailingZerosAreIgnored() throws {
        let dir = try TempDir()
        let (data, file) = try threeMembers(dir)
        for zeros in [1, 3 << 20] {
            let path = dir.path("padded")
            try writeFile(path, file + [UInt8](repeating: 0, count: zeros))
            XCTAssertEqual(try decompressFile(path), data, "\(zeros) zeros")
            if (try? requireTool("gzip")) != nil {
                XCTAssertEqual(try runTool("gzip", ["-t", path]).status, 0, "gzip -t with \(zeros) zeros")
            }
        }
    }

    func testBadHeader() throws {
        let dir = try TempDir()
        var (_, file) = try threeMembers(dir)
        let second = try XCTUnwrap(walkMembers(file))[1]
        file[second.offset + 2] = 7  // compression method 7 is not deflate
        let e = try expectError(file, dir)
        XCTAssertEqual(e?.kind, .badHeader)
        XCTAssertEqual(e?.memberOffset, Int64(second.offset))
    }

    func testBytesBeforeTheErrorAreDelivered() throws {
        let dir = try TempDir()
        var (data, file) = try threeMembers(dir)
        let third = try XCTUnwrap(walkMembers(file))[2]
        file[third.offset + third.length - 8] ^= 0xFF
        let path = dir.path("bad")
        try writeFile(path, file)
        let fd = try openForReading(path)
        defer { close(fd) }
        let d = try ParallelDecompressor(inputFD: fd, path: path, threads: 2)
        var got: [UInt8] = []
        let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 5000, alignment: 1)
        defer { buf.deallocate() }
        var first: CompressionError?
        do { while true { let n = try d.read(into: buf); if n == 0 { break }; got += buf[0..<n] } } catch let e as CompressionError { first = e }
        XCTAssertEqual(first?.kind, .crcMismatch)
        XCTAssertEqual(got, Array(data[0..<(2 * chunk)]), "members before the bad one come out whole")
        XCTAssertThrowsError(try d.read(into: buf)) { XCTAssertEqual($0 as? CompressionError, first, "errors are sticky") }
    }

    /// Foreign (sequentially inflated) input: `gzip -c` output with a flipped CRC, then cut short.
    func testForeignSingleMemberDamage() throws {
        let dir = try TempDir()
        try writeFile(dir.path("in"), InputKind.text.bytes(300_000, seed: 71))
        XCTAssertEqual(try runTool("gzip", ["-c", dir.path("in")], stdout: dir.path("in.gz")).status, 0)
        var file = try readFile(dir.path("in.gz"))
        let good = file
        file[file.count - 8] ^= 0x10
        XCTAssertEqual(try expectError(file, dir)?.kind, .crcMismatch)
        var isize = good
        isize[isize.count - 1] ^= 0x01
        XCTAssertEqual(try expectError(isize, dir)?.kind, .crcMismatch, "ISA-L reports CRC-32 and ISIZE alike")
        var body = good
        for i in 200..<260 { body[i] ^= 0x5A }
        XCTAssertTrue([.corruptData, .crcMismatch].contains(try expectError(body, dir)?.kind))
        let cut = try expectError(Array(good[0..<(good.count / 2)]), dir)
        XCTAssertEqual(cut?.kind, .truncated)
        XCTAssertEqual(cut?.memberOffset, 0)
        let tail = try expectError(good + good[0..<5], dir)  // a second member cut inside its header
        XCTAssertEqual(tail?.kind, .truncated)
        XCTAssertEqual(tail?.memberOffset, Int64(good.count))
    }

    func testZstdDamage() throws {
        let dir = try TempDir()
        let (_, file) = try threeMembers(dir, codec: .zstd)
        var flipped = file
        flipped[flipped.count - 2] ^= 0x40  // inside the last frame's XXH64 checksum
        XCTAssertEqual(try expectError(flipped, dir)?.kind, .crcMismatch)
        XCTAssertEqual(try expectError(Array(file[0..<(file.count - 10)]), dir)?.kind, .truncated)
        XCTAssertEqual(try expectError(file + Array("junk".utf8), dir)?.kind, .trailingGarbage)
    }

    func testNotCompressedAndEmpty() throws {
        let dir = try TempDir()
        XCTAssertEqual(try expectError(Array("plain text, not gzip".utf8), dir)?.kind, .notCompressed)
        XCTAssertEqual(try expectError([], dir)?.kind, .truncated)
        XCTAssertEqual(try expectError([0x1f], dir)?.kind, .truncated)
    }
}

/// Compressor-side failures: bad options, real write errors, use after finish.
final class CompressorFailureTests: XCTestCase {
    func testInvalidLevel() {
        XCTAssertThrowsError(try ParallelCompressor(outputFD: 1, path: "x", options: CompressionOptions(level: 10))) {
            XCTAssertEqual(($0 as? CompressionError)?.kind, .invalidOptions)
        }
    }

    /// /dev/full fails every write with ENOSPC: a real full disk.
    func testFullDiskIsStickyIOErrorWithErrno() throws {
        let fd = open("/dev/full", O_WRONLY)
        guard fd >= 0 else { throw XCTSkip("/dev/full not available") }
        defer { close(fd) }
        let c = try ParallelCompressor(outputFD: fd, path: "/dev/full", options: CompressionOptions(level: 1, threads: 2, chunkSize: 4096))
        let data = InputKind.text.bytes(200_000, seed: 81)
        var thrown: CompressionError?
        do {
            try data.withUnsafeBytes { b in
                for i in stride(from: 0, to: b.count, by: 1000) {
                    try c.write(UnsafeRawBufferPointer(rebasing: b[i..<min(b.count, i + 1000)]))
                }
            }
            _ = try c.finish()
        } catch let e as CompressionError { thrown = e }
        XCTAssertEqual(thrown?.kind, .io)
        XCTAssertEqual(thrown?.errno, ENOSPC)
        XCTAssertEqual(thrown?.memberOffset, 0)
        XCTAssertThrowsError(try c.finish())
    }

    func testWriteAfterFinish() throws {
        let dir = try TempDir()
        let fd = try openForWriting(dir.path("a.gz"))
        defer { close(fd) }
        let c = try ParallelCompressor(outputFD: fd, path: dir.path("a.gz"), options: CompressionOptions())
        _ = try c.finish()
        XCTAssertThrowsError(try [UInt8(1)].withUnsafeBytes { try c.write($0) }) {
            XCTAssertEqual(($0 as? CompressionError)?.kind, .closed)
        }
    }

    /// A compressor dropped without finish() stops its threads (no hang, no crash).
    func testAbandonedCompressor() throws {
        let dir = try TempDir()
        let fd = try openForWriting(dir.path("a.gz"))
        defer { close(fd) }
        do {
            let c = try ParallelCompressor(outputFD: fd, path: dir.path("a.gz"), options: CompressionOptions(threads: 2, chunkSize: 1000))
            try InputKind.random.bytes(10_000, seed: 1).withUnsafeBytes { try c.write($0) }
        }
        XCTAssertGreaterThan(try readFile(dir.path("a.gz")).count, 0)
    }
}
