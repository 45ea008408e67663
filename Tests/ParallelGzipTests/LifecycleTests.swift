import Foundation
import XCTest
@testable import ParallelGzip
import TestSupport

/// Pipes, early abandonment and the threads' shutdown.
final class LifecycleTests: XCTestCase {
    /// Compressed bytes arrive through a real pipe in small, irregular writes.
    func testDecompressFromPipe() throws {
        let dir = try TempDir()
        let data = InputKind.text.bytes(400_000, seed: 101) + InputKind.incompressible.bytes(200_000, seed: 102)
        for codec in [CompressionCodec.gzip, .zstd] {
            try compressFile(data, to: dir.path("p"), options: CompressionOptions(codec: codec, threads: 2, chunkSize: 50_000))
            let file = try readFile(dir.path("p"))
            var fds: [Int32] = [0, 0]
            XCTAssertEqual(pipe(&fds), 0)
            let (readEnd, writeEnd) = (fds[0], fds[1])
            let writer = Thread {
                var r = SeededRandom(seed: 3)
                var off = 0
                file.withUnsafeBytes { b in
                    while off < b.count {
                        let n = min(b.count - off, 1 + r.int(3000))
                        let w = write(writeEnd, b.baseAddress! + off, n)
                        if w <= 0 { break }
                        off += w
                    }
                }
                close(writeEnd)
            }
            writer.start()
            defer { close(readEnd) }
            let d = try ParallelDecompressor(inputFD: readEnd, path: "<pipe>", threads: 2)
            var out: [UInt8] = []
            let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
            defer { buf.deallocate() }
            while true { let n = try d.read(into: buf); if n == 0 { break }; out += buf[0..<n] }
            XCTAssertEqual(out, data, "\(codec)")
        }
    }

    /// A decompressor dropped after one read stops its threads before the descriptor is closed.
    func testAbandonedDecompressor() throws {
        let dir = try TempDir()
        try compressFile(InputKind.random.bytes(3_000_000, seed: 111), to: dir.path("a.gz"),
                         options: CompressionOptions(threads: 2, chunkSize: 100_000))
        let fd = try openForReading(dir.path("a.gz"))
        do {
            let d = try ParallelDecompressor(inputFD: fd, path: dir.path("a.gz"), threads: 2)
            let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: 1000, alignment: 1)
            defer { buf.deallocate() }
            XCTAssertEqual(try d.read(into: buf), 1000)
        }
        // The reader has stopped: the file offset no longer moves.
        let before = lseek(fd, 0, SEEK_CUR)
        usleep(50_000)
        XCTAssertEqual(lseek(fd, 0, SEEK_CUR), before)
        close(fd)
    }

    /// Memory of the decompressor's pool does not depend on the input size.
    func testDecompressorMemoryBound() {
        XCTAssertEqual(ParallelDecompressor.memoryBound(threads: 2), 6 * 2 * GzipMemberFormat.parallelLimit + ParallelDecompressor.inputBufferLength)
    }
}
