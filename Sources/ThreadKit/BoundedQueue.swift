/// A FIFO with a fixed capacity: `push` blocks while it is full, `pop` while it is empty.
/// This is what keeps a fast producer from running ahead of a slow consumer without bound; the
/// pipelines whose items come from a fixed pool give the pool's size, so `push` never waits there.
public final class BoundedQueue<Element>: @unchecked Sendable {
    /// Condition 0: not empty (consumers wait); 1: not full (producers wait).
    private let monitor = Monitor(conditions: 2)
    private static var notEmpty: Int { 0 }
    private static var notFull: Int { 1 }
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
        while count == items.count && !closed { monitor.wait(Self.notFull) }
        if closed { return false }
        items[(head + count) % items.count] = item
        count += 1
        monitor.signal(Self.notEmpty)
        return true
    }

    /// Nil once the queue is closed and drained.
    public func pop() -> Element? {
        monitor.lock(); defer { monitor.unlock() }
        while count == 0 && !closed { monitor.wait(Self.notEmpty) }
        if count == 0 { return nil }
        let item = items[head]
        items[head] = nil
        head = (head + 1) % items.count
        count -= 1
        monitor.signal(Self.notFull)
        return item
    }

    /// No more pushes; pops drain what is left and then return nil.
    public func close() {
        monitor.withLock {
            closed = true
            monitor.broadcast(Self.notEmpty)
            monitor.broadcast(Self.notFull)
        }
    }
}
