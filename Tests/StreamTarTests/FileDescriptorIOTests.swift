import Foundation
import XCTest
@testable import StreamTar
#if canImport(Glibc)
import Glibc
import TestSupport
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
