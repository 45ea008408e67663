import Synchronization

/// A counting budget (bytes, file descriptors) that blocks takers until enough is returned.
public final class Budget: @unchecked Sendable {
    private let monitor = Monitor()
    private var available: Int
    public let capacity: Int

    public init(_ capacity: Int) {
        self.capacity = capacity
        available = capacity
    }

    /// Takes `amount` (clamped to the capacity, so one oversized request cannot wait forever)
    /// and returns what it took.
    @discardableResult
    public func take(_ amount: Int) -> Int {
        let n = min(amount, capacity)
        monitor.lock(); defer { monitor.unlock() }
        while available < n { monitor.wait() }
        available -= n
        return n
    }

    public func tryTake(_ amount: Int) -> Bool {
        monitor.lock(); defer { monitor.unlock() }
        guard available >= amount else { return false }
        available -= amount
        return true
    }

    public func give(_ amount: Int) {
        monitor.withLock {
            available += amount
            monitor.broadcast()
        }
    }
}

/// A counting budget that never blocks: takers that do not fit go without. Atomic, because its
/// users (the walker's threads and its emitter) take and give for every folder.
public final class NonBlockingBudget: @unchecked Sendable {
    private let available: Atomic<Int>

    public init(_ capacity: Int) { available = Atomic(capacity) }

    public func tryTake(_ amount: Int) -> Bool {
        var current = available.load(ordering: .relaxed)
        while current >= amount {
            let (exchanged, original) = available.compareExchange(expected: current, desired: current - amount, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    public func give(_ amount: Int) { available.add(amount, ordering: .acquiringAndReleasing) }
}
