import Foundation
import XCTest
import Synchronization
import ThreadKit

/// The concurrency kit's promises: a bounded queue holds its producer back, the outbox hands
/// items over in sequence whatever order they finish in, a started thread carries its name,
/// and a pool lets go of a job once it has run.
final class ThreadKitTests: XCTestCase {
    func testBoundedQueueBlocksItsProducerAtCapacity() throws {
        let queue = BoundedQueue<Int>(capacity: 3)
        let pushed = Atomic<Int>(0)
        let producerDone = DispatchGroup()
        try startThread(named: "test-producer", stackSize: ThreadStack.standard, group: producerDone) {
            for i in 0..<10 { queue.push(i); pushed.add(1, ordering: .relaxed) }
            queue.close()
        }
        // The producer fills the queue and then waits on its fourth push.
        let deadline = Date().addingTimeInterval(5)
        while pushed.load(ordering: .relaxed) < 3 && Date() < deadline { usleep(1_000) }
        usleep(50_000)
        XCTAssertEqual(pushed.load(ordering: .relaxed), 3, "pushes went through beyond the capacity")
        var seen: [Int] = []
        while let x = queue.pop() { seen.append(x) }
        XCTAssertEqual(seen, Array(0..<10))
        XCTAssertEqual(producerDone.wait(timeout: .now() + 10), .success)
        XCTAssertFalse(queue.push(11), "a closed queue took an item")
    }

    func testOutboxHandsItemsOverInSequence() throws {
        let outbox = OrderedOutbox<Int>()
        let group = DispatchGroup()
        for seq in [4, 2, 0, 3, 1] {
            try startThread(named: "test-put-\(seq)", stackSize: ThreadStack.small, group: group) {
                usleep(useconds_t((5 - seq) * 2_000))
                outbox.put(seq, seq * 10)
            }
        }
        let taken = (0..<5).map { outbox.take($0) }
        XCTAssertEqual(taken, [0, 10, 20, 30, 40])
        XCTAssertEqual(group.wait(timeout: .now() + 10), .success)
        outbox.close()
        XCTAssertNil(outbox.take(5))
    }

    func testStartedThreadCarriesItsName() throws {
        let name = Future<String>()
        try startThread(named: "kit-named", stackSize: ThreadStack.small) {
            let comm = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? ""
            name.fulfil(comm.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        XCTAssertEqual(name.wait(), "kit-named")
    }

    func testClaimableFutureIsComputedOnce() throws {
        let future = ClaimableFuture<Int>()
        let claims = NonBlockingBudget(0)
        let group = DispatchGroup()
        for i in 0..<8 {
            try startThread(named: "test-claim-\(i)", stackSize: ThreadStack.small, group: group) {
                if future.claim() { claims.give(1); future.fulfil(i) }
                _ = future.wait()
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 10), .success)
        XCTAssertTrue(claims.tryTake(1))
        XCTAssertFalse(claims.tryTake(1), "two threads computed the value")
    }

    /// A job's closure (and what it captured) is freed once a thread has run it, not kept
    /// until the queue is next compacted.
    func testWorkerPoolReleasesAJobOnceTaken() throws {
        final class Payload {}
        let pool = try WorkerPool(threads: 1, name: "test")
        defer { pool.shutdown() }
        weak var watched: Payload?
        let ran = DispatchSemaphore(value: 0)
        do {
            let payload = Payload()
            watched = payload
            pool.submit { _ = payload; ran.signal() }
        }
        XCTAssertEqual(ran.wait(timeout: .now() + 10), .success)
        // The worker drops its own reference when the job returns; give it a moment to.
        let deadline = Date().addingTimeInterval(5)
        while watched != nil && Date() < deadline { usleep(10_000) }
        XCTAssertNil(watched, "the pool still holds a finished job")
    }
}
