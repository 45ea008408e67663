/// Finished items keyed by sequence number; `take(seq)` waits for exactly that one, so a single
/// consumer sees them in input order whatever order the workers finish in (pigz's write thread).
/// Bounded by its producers: each item is a slot of a fixed pool.
public final class OrderedOutbox<Element>: @unchecked Sendable {
    private let monitor = Monitor()
    private var done: [Int: Element] = [:]
    private var closed = false

    public init() {}

    public func put(_ seq: Int, _ item: Element) {
        monitor.withLock {
            done[seq] = item
            monitor.broadcast()
        }
    }

    /// Nil once closed without that item.
    public func take(_ seq: Int) -> Element? {
        monitor.lock(); defer { monitor.unlock() }
        while done[seq] == nil && !closed { monitor.wait() }
        return done.removeValue(forKey: seq)
    }

    public func close() {
        monitor.withLock {
            closed = true
            monitor.broadcast()
        }
    }
}
