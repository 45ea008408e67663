import Foundation
import Synchronization

/// A fixed set of threads running submitted jobs in FIFO order. The pool itself does not
/// bound its queue; each user bounds what it submits (see DirectoryWalker, FilePrefetcher).
final class WorkerPool: @unchecked Sendable {
    private let condition = NSCondition()
    // A taken job's slot is cleared at once: a finished job (and whatever its closure holds,
    // e.g. a walker listing) must not stay alive until the array is next compacted.
    private var jobs: [(() -> Void)?] = []
    private var head = 0
    private var stopping = false
    private var threads: [Thread] = []

    private let threadCount: Int

    init(threads count: Int, name: String) {
        threadCount = max(1, count)
        for i in 0..<threadCount {
            // Each thread keeps the pool alive until `shutdown` lets it return.
            let t = Thread { [self] in self.run() }
            t.name = "\(name)-\(i)"
            t.stackSize = 1 << 20
            threads.append(t)
            t.start()
        }
    }

    func submit(_ job: @escaping () -> Void) {
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    /// Queues several jobs under one lock and wakes at most one thread per job (a broadcast would
    /// wake every idle thread to fight over one job).
    func submit(contentsOf batch: [() -> Void]) {
        guard !batch.isEmpty else { return }
        condition.lock()
        jobs.append(contentsOf: batch.map { Optional($0) })
        for _ in 0..<min(batch.count, threadCount) { condition.signal() }
        condition.unlock()
    }

    /// Lets the threads finish what is queued, then stop. Jobs submitted later never run.
    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while head == jobs.count && !stopping { condition.wait() }
            if head == jobs.count {
                condition.unlock()
                return
            }
            let job = jobs[head]!
            jobs[head] = nil
            head += 1
            if head > 1024 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            condition.unlock()
            job()
        }
    }
}

/// A value computed on another thread; `wait` blocks until it is there.
final class Future<Value>: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: Value?

    func fulfil(_ v: Value) {
        condition.lock()
        value = v
        condition.broadcast()
        condition.unlock()
    }

    func wait() -> Value {
        condition.lock(); defer { condition.unlock() }
        while value == nil { condition.wait() }
        return value!
    }
}

/// A value that whichever thread claims it first computes, while later claimants wait for it:
/// a job queued ahead that the consumer reaches before any worker has started it is done by the
/// consumer itself, instead of a sleep until a worker gets to it and a wake-up after.
final class ClaimableFuture<Value>: @unchecked Sendable {
    private let result = Future<Value>()
    /// An atomic flag, not a mutex: the emitter and a walker thread race for the same folders,
    /// and a contended mutex costs a futex wait and wake each time.
    private let claimed = Atomic<Bool>(false)

    /// True for the one caller that gets to compute the value.
    func claim() -> Bool {
        claimed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }

    func fulfil(_ v: Value) { result.fulfil(v) }

    func wait() -> Value { result.wait() }
}

/// A counting budget that never blocks: takers that do not fit go without. Atomic, because the
/// walker's threads and its emitter take and give for every folder.
final class NonBlockingBudget: @unchecked Sendable {
    private let available: Atomic<Int>

    init(_ capacity: Int) { available = Atomic(capacity) }

    func tryTake(_ amount: Int) -> Bool {
        var current = available.load(ordering: .relaxed)
        while current >= amount {
            let (exchanged, original) = available.compareExchange(expected: current, desired: current - amount, ordering: .acquiringAndReleasing)
            if exchanged { return true }
            current = original
        }
        return false
    }

    func give(_ amount: Int) { available.add(amount, ordering: .acquiringAndReleasing) }
}

/// A counting budget (bytes, file descriptors) that blocks takers until enough is returned.
final class Budget: @unchecked Sendable {
    private let condition = NSCondition()
    private var available: Int
    let capacity: Int

    init(_ capacity: Int) {
        self.capacity = capacity
        available = capacity
    }

    /// Takes `amount` (clamped to the capacity, so one oversized request cannot wait forever).
    @discardableResult
    func take(_ amount: Int) -> Int {
        let n = min(amount, capacity)
        condition.lock()
        while available < n { condition.wait() }
        available -= n
        condition.unlock()
        return n
    }

    func tryTake(_ amount: Int) -> Bool {
        condition.lock(); defer { condition.unlock() }
        guard available >= amount else { return false }
        available -= amount
        return true
    }

    func give(_ amount: Int) {
        condition.lock()
        available += amount
        condition.broadcast()
        condition.unlock()
    }
}
