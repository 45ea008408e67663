import Foundation
import XCTest
import ThreadKit
import TestSupport

/// The buffer ring (a backup's read-ahead memory): blocks never overlap while live, wrap at the end, and a
/// taker waits until the bytes it needs are given back.
final class BufferRingTests: XCTestCase {
    private func overlaps(_ a: BufferRing.Block, _ b: BufferRing.Block) -> Bool {
        a.start < b.start + b.length && b.start < a.start + a.length
    }

    func testBlocksWrapAndNeverOverlap() {
        let ring = BufferRing(capacity: 100)
        let a = ring.take(40), b = ring.take(40)
        XCTAssertEqual([a.start, b.start], [0, 40])
        ring.give(a)
        let c = ring.take(30)   // 20 left at the end: wraps to the front, freed by a
        XCTAssertEqual(c.start, 0)
        XCTAssertFalse(overlaps(c, b))
        ring.give(b); ring.give(c)
        XCTAssertEqual(ring.take(100).start, 0, "an empty ring starts over")
    }

    /// A seeded mix of sizes and give-back orders (mostly the oldest first, as the tar writer
    /// gives them; sometimes a later one, as a vanished file's block is): every block stays
    /// inside the ring and apart from the live ones, every byte written to a block is intact
    /// when it is given back, and a take that cannot be served yet succeeds once the oldest
    /// blocks are back.
    func testRandomTakesAndGives() {
        var rng = SeededRandom(seed: 0x51AB)
        func next(_ n: Int) -> Int { rng.int(n) }
        let ring = BufferRing(capacity: 4096)
        var live: [(BufferRing.Block, UInt8)] = []
        func giveBack(_ i: Int, _ step: Int) {
            let (b, tag) = live.remove(at: i)
            XCTAssertTrue(ring.buffer(b).allSatisfy { $0 == tag }, "step \(step): a block's bytes changed while live")
            ring.give(b)
        }
        var waited = 0
        for step in 0..<20_000 {
            let size = 1 + next(1500)
            if !live.isEmpty && next(4) == 0 { giveBack(next(live.count), step) }
            var taken = ring.tryTake(size)
            while taken == nil {
                guard !live.isEmpty else { return XCTFail("step \(step): an empty ring refused \(size) bytes") }
                waited += 1
                giveBack(0, step)
                taken = ring.tryTake(size)
            }
            let b = taken!
            XCTAssertLessThanOrEqual(b.start + b.length, 4096)
            for (o, _) in live { XCTAssertFalse(overlaps(o, b), "step \(step): \(o) and \(b) overlap") }
            let tag = UInt8(truncatingIfNeeded: step)
            ring.buffer(b).initializeMemory(as: UInt8.self, repeating: tag)
            live.append((b, tag))
        }
        XCTAssertGreaterThan(waited, 1000, "the ring filled up often enough to test wrapping")
    }

    func testTakerWaitsForGiveBack() {
        let ring = BufferRing(capacity: 64)
        let a = ring.take(64)
        let taken = DispatchSemaphore(value: 0)
        Thread { _ = ring.take(10); taken.signal() }.start()
        XCTAssertEqual(taken.wait(timeout: .now() + 0.2), .timedOut, "a full ring must make the taker wait")
        ring.give(a)
        XCTAssertEqual(taken.wait(timeout: .now() + 5), .success)
    }
}
