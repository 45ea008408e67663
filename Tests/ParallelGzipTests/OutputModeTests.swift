import Foundation
import XCTest
@testable import ParallelGzip
import TestSupport

/// The writer's output modes: direct I/O through the aligned staging buffer (with its buffered
/// tail), the fallbacks where direct I/O cannot apply, and write-behind.
final class OutputModeTests: XCTestCase {
    let chunk = 256 << 10

    /// Whether the file system under `dir` takes an aligned O_DIRECT write (tmpfs and some
    /// FUSE file systems do not); the direct-byte counts are only asserted where it does.
    private func directIOWorks(in dir: TempDir) -> Bool {
        let path = dir.path("probe")
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | 0o40000, 0o644)
        guard fd >= 0 else { return false }
        defer { close(fd); unlink(path) }
        let buf = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { buf.deallocate() }
        memset(buf, 0, 4096)
        return write(fd, buf, 4096) == 4096
    }

    /// Outputs from empty to several staging buffers long, stored (level 0) so their lengths are
    /// known to straddle the 4096-byte alignment: each decompresses to its input, and every
    /// whole aligned block but the tail went out direct.
    func testDirectOutputRoundTrips() throws {
        let dir = try TempDir()
        let direct = directIOWorks(in: dir)
        if !direct { print("OutputModeTests: O_DIRECT is refused under \(dir.url.path); checking the fallback only") }
        for size in [0, 1, 4_000, 4_096, 70_001, MemberOutput.stagingBytes - 100, 2 * MemberOutput.stagingBytes + 12_345] {
            for level in [0, nil] as [Int?] {
                let label = "size \(size) level \(level.map(String.init) ?? "nil")"
                let data = InputKind.text.bytes(size, seed: UInt64(size) &+ 3)
                var options = CompressionOptions(level: level, threads: 2, chunkSize: chunk)
                options.directIO = true
                let path = dir.path("direct.gz")
                let stats = try compressFile(data, to: path, options: options)
                let file = try readFile(path)
                XCTAssertEqual(stats.outputBytes, Int64(file.count), label)
                XCTAssertEqual(walkMembers(file)?.reduce(0) { $0 + $1.size }, size, label)
                XCTAssertEqual(try decompressFile(path), data, label)
                if direct {
                    XCTAssertEqual(stats.directBytes, Int64(file.count / 4096 * 4096), label)
                }
                if (try? requireTool("gzip")) != nil {
                    XCTAssertEqual(try runTool("gzip", ["-t", path]).status, 0, "gzip -t: \(label)")
                }
            }
        }
    }

    /// Direct I/O is not tried on a pipe, nor on a file whose offset is not block-aligned; both
    /// get every byte with ordinary writes.
    func testDirectFallsBackWhereItCannotApply() throws {
        let dir = try TempDir()
        let data = InputKind.incompressible.bytes(3 * chunk + 77, seed: 9)
        var options = CompressionOptions(threads: 2, chunkSize: chunk)
        options.directIO = true

        let path = dir.path("offset.gz")
        let fd = try openForWriting(path)
        XCTAssertEqual(write(fd, "0123456789", 10), 10)
        let c = try ParallelCompressor(outputFD: fd, path: path, options: options)
        try data.withUnsafeBytes { try c.write($0) }
        let stats = try c.finish()
        close(fd)
        XCTAssertEqual(stats.directBytes, 0, "offset 10 is not aligned")
        let file = try readFile(path)
        XCTAssertEqual(Array(file.prefix(10)), Array("0123456789".utf8))
        try writeFile(dir.path("rest.gz"), Array(file.dropFirst(10)))
        XCTAssertEqual(try decompressFile(dir.path("rest.gz")), data)

        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let received = ByteSink()
        let readEnd = fds[0]
        let reader = Thread {
            var buf = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(readEnd, &buf, buf.count)
                if n <= 0 { break }
                received.append(buf[0..<n])
            }
            received.done.signal()
        }
        reader.start()
        let p = try ParallelCompressor(outputFD: fds[1], path: "pipe", options: options)
        try data.withUnsafeBytes { try p.write($0) }
        let pipeStats = try p.finish()
        close(fds[1])
        received.done.wait()
        close(fds[0])
        XCTAssertEqual(pipeStats.directBytes, 0)
        try writeFile(dir.path("pipe.gz"), received.bytes)
        XCTAssertEqual(try decompressFile(dir.path("pipe.gz")), data)
    }

    /// Write-behind after every member changes nothing in the output.
    func testWriteBehindKeepsTheOutput() throws {
        let dir = try TempDir()
        let data = InputKind.text.bytes(5 * chunk + 1, seed: 4)
        var options = CompressionOptions(threads: 2, chunkSize: chunk)
        options.writeBehind = 1
        let path = dir.path("wb.gz")
        let stats = try compressFile(data, to: path, options: options)
        XCTAssertEqual(stats.directBytes, 0)
        XCTAssertEqual(try decompressFile(path), data)
    }
}

private final class ByteSink: @unchecked Sendable {
    private(set) var bytes: [UInt8] = []
    let done = DispatchSemaphore(value: 0)
    func append(_ b: ArraySlice<UInt8>) { bytes += b }
}
