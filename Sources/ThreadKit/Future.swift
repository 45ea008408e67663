import Synchronization

/// A value computed on another thread; `wait` blocks until it is there.
public final class Future<Value>: @unchecked Sendable {
    private let monitor = Monitor()
    private var value: Value?

    public init() {}

    public func fulfil(_ v: Value) {
        monitor.withLock {
            value = v
            monitor.broadcast()
        }
    }

    public func wait() -> Value {
        monitor.lock(); defer { monitor.unlock() }
        while value == nil { monitor.wait() }
        return value!
    }
}

/// A value that whichever thread claims it first computes, while later claimants wait for it:
/// a job queued ahead that the consumer reaches before any worker has started it is done by the
/// consumer itself, instead of a sleep until a worker gets to it and a wake-up after.
public final class ClaimableFuture<Value>: @unchecked Sendable {
    private let result = Future<Value>()
    /// An atomic flag, not a mutex: the claimants race for the same values, and a contended
    /// mutex costs a futex wait and wake each time.
    private let claimed = Atomic<Bool>(false)

    public init() {}

    /// True for the one caller that gets to compute the value.
    public func claim() -> Bool {
        claimed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }

    public func fulfil(_ v: Value) { result.fulfil(v) }

    public func wait() -> Value { result.wait() }
}
