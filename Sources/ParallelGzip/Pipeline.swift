/// A blocking FIFO. With the pipelines' fixed slot pools it never holds more than the pool size.
/// `pop()` blocks until an item arrives, and returns nil once the queue is closed and empty.
final class BlockingQueue<T> {
    private let cond = Monitor()
    private var items: [T] = []
    private var head = 0
    private var closed = false

    func push(_ x: T) {
        cond.lock(); items.append(x); cond.signal(); cond.unlock()
    }

    func pop() -> T? {
        cond.lock(); defer { cond.unlock() }
        while head == items.count && !closed { cond.wait() }
        if head == items.count { return nil }
        let x = items[head]
        head += 1
        if head > 64 && head * 2 > items.count { items.removeFirst(head); head = 0 }
        return x
    }

    func close() {
        cond.lock(); closed = true; cond.broadcast(); cond.unlock()
    }
}

/// Finished items keyed by sequence number; `take(seq)` waits for exactly that one, so a single
/// consumer sees them in input order whatever order the workers finish in.
final class OrderedOutbox<T> {
    private let cond = Monitor()
    private var done: [Int: T] = [:]
    private var closed = false

    func put(_ seq: Int, _ x: T) {
        cond.lock(); done[seq] = x; cond.broadcast(); cond.unlock()
    }

    func take(_ seq: Int) -> T? {
        cond.lock(); defer { cond.unlock() }
        while done[seq] == nil && !closed { cond.wait() }
        return done.removeValue(forKey: seq)
    }

    func close() {
        cond.lock(); closed = true; cond.broadcast(); cond.unlock()
    }
}
