import Glibc
import SystemCalls
import XCTest

/// The read and write loops over a pipe, where short counts really happen, and typed errors.
final class FileDescriptorTests: XCTestCase {
    func testWriteAllAndReadFullMoveEveryByteThroughAPipe() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        let reader = FileDescriptor(rawValue: fds[0]), writer = FileDescriptor(rawValue: fds[1])
        // More than a pipe holds (64 KiB), so writes are short and reads come in pieces.
        let sent = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 2654435761 >> 13) }
        let thread = Thread {
            try? sent.withUnsafeBytes { try writer.writeAll($0) }
            writer.close()
        }
        thread.start()
        var received = [UInt8](repeating: 0, count: sent.count + 10)
        let n = try received.withUnsafeMutableBytes { try reader.readFull(into: $0) }
        reader.close()
        XCTAssertEqual(n, sent.count)
        XCTAssertEqual(Array(received[0..<n]), sent)
    }

    func testOpenFailureIsTheErrno() {
        XCTAssertThrowsError(try FileDescriptor.open("/nonexistent/x", O_RDONLY)) { error in
            XCTAssertEqual(error as? Errno, .noSuchFile)
            XCTAssertEqual((error as? Errno)?.description, "No such file or directory")
        }
    }

    func testPreadReadsAtTheOffset() throws {
        let path = "/tmp/fd-pread-\(getpid())"
        let fd = try FileDescriptor.open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, mode: 0o600)
        defer { fd.close(); unlink(path) }
        try Array("0123456789".utf8).withUnsafeBytes { try fd.writeAll($0) }
        var four = [UInt8](repeating: 0, count: 4)
        let n = try four.withUnsafeMutableBytes { try fd.read(into: $0, at: 3) }
        XCTAssertEqual(n, 4)
        XCTAssertEqual(String(decoding: four, as: UTF8.self), "3456")
        XCTAssertEqual(try fd.status().st_size, 10)
    }
}
