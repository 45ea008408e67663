import SystemCalls

/// A fixed set of named threads running submitted jobs in FIFO order.
///
/// The threads are the pool's bound; the job list is not bounded here, because every user
/// already bounds what it has outstanding (the walker by its listing budget, the read-ahead by
/// its ring, the extractor by its byte budget), and a second bound would only add a wait.
public final class WorkerPool: @unchecked Sendable {
    private let monitor = Monitor()
    // A taken job's slot is cleared at once: a finished job (and whatever its closure holds,
    // e.g. a walker listing) must not stay alive until the array is next compacted.
    private var jobs: [(() -> Void)?] = []
    private var head = 0
    private var stopping = false

    public let threadCount: Int

    /// Starts `threads` threads named `name-0`, `name-1`, ... with a ``ThreadStack/standard``
    /// stack. When a thread cannot be started, those already started are stopped and the
    /// error is thrown.
    public init(threads count: Int, name: String, stackSize: Int = ThreadStack.standard) throws(SystemCallError) {
        threadCount = max(1, count)
        for i in 0..<threadCount {
            do {
                // Each thread keeps the pool alive until `shutdown` lets it return.
                try startThread(named: "\(name)-\(i)", stackSize: stackSize) { [self] in self.run() }
            } catch {
                shutdown()
                throw error
            }
        }
    }

    public func submit(_ job: @escaping () -> Void) {
        monitor.withLock {
            jobs.append(job)
            monitor.signal()
        }
    }

    /// Queues several jobs under one lock and wakes at most one thread per job (a broadcast would
    /// wake every idle thread to fight over one job).
    public func submit(contentsOf batch: [() -> Void]) {
        guard !batch.isEmpty else { return }
        monitor.withLock {
            jobs.append(contentsOf: batch.map { Optional($0) })
            for _ in 0..<min(batch.count, threadCount) { monitor.signal() }
        }
    }

    /// Lets the threads finish what is queued, then stop. Jobs submitted later never run.
    public func shutdown() {
        monitor.withLock {
            stopping = true
            monitor.broadcast()
        }
    }

    private func run() {
        while true {
            monitor.lock()
            while head == jobs.count && !stopping { monitor.wait() }
            if head == jobs.count {
                monitor.unlock()
                return
            }
            let job = jobs[head]!
            jobs[head] = nil
            head += 1
            if head > 1024 && head * 2 > jobs.count {
                jobs.removeFirst(head)
                head = 0
            }
            monitor.unlock()
            job()
        }
    }
}
