/// A FIFO with a fixed capacity: `push` blocks while it is full, `pop` while it is empty.
/// This is what keeps a fast producer from running ahead of a slow consumer without bound; the
/// pipelines whose items come from a fixed pool give the pool's size, so `push` never waits there.
public final class BoundedQueue<Element>: @unchecked Sendable {
    private let monitor = Monitor()
    private var items: [Element?]
    private var head = 0
    private var count = 0
    private var closed = false

    public init(capacity: Int) {
        precondition(capacity > 0, "a bounded queue needs a capacity")
        items = Array(repeating: nil, count: capacity)
    }

    public var capacity: Int { items.count }

    /// Returns false if the queue was closed (the consumer gave up); the item is dropped.
    @discardableResult
    public func push(_ item: Element) -> Bool {
        monitor.lock(); defer { monitor.unlock() }
        while count == items.count && !closed { monitor.wait() }
        if closed { return false }
        items[(head + count) % items.count] = item
        count += 1
        monitor.broadcast()
        return true
    }

    /// Nil once the queue is closed and drained.
    public func pop() -> Element? {
        monitor.lock(); defer { monitor.unlock() }
        while count == 0 && !closed { monitor.wait() }
        if count == 0 { return nil }
        let item = items[head]
        items[head] = nil
        head = (head + 1) % items.count
        count -= 1
        monitor.broadcast()
        return item
    }

    /// No more pushes; pops drain what is left and then return nil.
    public func close() {
        monitor.withLock {
            closed = true
            monitor.broadcast()
        }
    }
}
