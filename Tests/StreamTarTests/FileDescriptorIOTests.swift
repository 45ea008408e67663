import Foundation
import XCTest
@testable import StreamTar
import SystemCalls
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

private var interruptions: Int32 = 0

/// Bytes handed from the draining thread to the test; the semaphore orders the accesses.
private final class ReceivedBytes: @unchecked Sendable {
    var bytes: [UInt8] = []
}

/// Real interruptions: a signal handler installed without SA_RESTART makes a blocked
/// `read(2)`/`write(2)` on a pipe return EINTR (or a short count), which the descriptor
/// sink and source must absorb.
final class FileDescriptorIOTests: XCTestCase {
    private var previous = sigaction()

    override func setUp() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in interruptions += 1 }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0  // no SA_RESTART: blocked system calls fail with EINTR
        sigaction(SIGUSR1, &action, &previous)
        interruptions = 0
    }

    override func tearDown() { sigaction(SIGUSR1, &previous, nil) }

    /// A failed system call reaches the caller as a `TarError` whose cause is the call, its errno
    /// and the path: here `write(2)` and `read(2)` on a descriptor that is not open (EBADF).
    func testFailedCallsCarryTheirCause() throws {
        var ends: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&ends), 0)
        close(ends[0]); close(ends[1])
        let bytes: [UInt8] = [1, 2, 3]
        XCTAssertThrowsError(try bytes.withUnsafeBytes { try FileDescriptorSink(fd: ends[1], path: "/closed/sink").write($0) }) { e in
            let cause = (e as? TarError)?.cause
            XCTAssertEqual(cause?.call, "write")
            XCTAssertEqual(cause?.errno.rawValue, EBADF)
            XCTAssertEqual(cause?.path, "/closed/sink")
        }
        var buffer = [UInt8](repeating: 0, count: 8)
        XCTAssertThrowsError(try buffer.withUnsafeMutableBytes { try FileDescriptorSource(fd: ends[0], path: "/closed/source").read(into: $0) }) { e in
            XCTAssertEqual((e as? TarError)?.cause?.call, "read")
            XCTAssertEqual((e as? TarError)?.cause?.errno.rawValue, EBADF)
        }
    }

    func testSourceRetriesEINTR() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]) }
        let target = pthread_self()
        let writeEnd = fds[1]
        DispatchQueue.global().async {
            usleep(100_000)
            pthread_kill(target, SIGUSR1)  // lands while the test thread is blocked in read(2)
            usleep(100_000)
            _ = "late data".withCString { write(writeEnd, $0, 9) }
            close(writeEnd)
        }
        let source = FileDescriptorSource(fd: fds[0], path: "pipe")
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
        XCTAssertEqual(Array(buffer[0..<n]), Array("late data".utf8))
        XCTAssertGreaterThanOrEqual(interruptions, 1, "the signal must have interrupted the read")
    }

    func testSinkRetriesEINTRAndShortWrites() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[1]) }
        var rng = SeededRandom(seed: 99)
        let payload = rng.bytes(1 << 20)
        let target = pthread_self()
        let readEnd = fds[0]
        let received = ReceivedBytes()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            usleep(100_000)
            pthread_kill(target, SIGUSR1)  // the writer is blocked on the full pipe by now
            usleep(100_000)
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(readEnd, &chunk, chunk.count)
                if n <= 0 { break }
                received.bytes += chunk[0..<n]
            }
            close(readEnd)
            done.signal()
        }
        let sink = FileDescriptorSink(fd: fds[1], path: "pipe")
        try payload.withUnsafeBytes { try sink.write($0) }
        close(fds[1])
        fds[1] = -1
        done.wait()
        XCTAssertEqual(received.bytes.count, payload.count)
        XCTAssertTrue(received.bytes == payload, "the pipe must carry every byte once, in order")
        XCTAssertGreaterThanOrEqual(interruptions, 1, "the signal must have interrupted the write")
    }
}
