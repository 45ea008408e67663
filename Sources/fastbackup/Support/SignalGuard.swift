import Dispatch
import Foundation
import ThreadKit
import SystemCalls

/// Turns SIGINT, SIGTERM and SIGHUP into an orderly exit: the registered clean-ups run (remove
/// a temporary archive, the maintenance flag we set), then the process exits with 128+signal.
/// Work inside `critical` (the renames of a rollback swap) finishes before the exit.
/// SIGXFSZ and SIGPIPE are ignored so that a write past RLIMIT_FSIZE or to a closed pipe
/// returns EFBIG/EPIPE as an error instead of killing the process.
final class SignalGuard: @unchecked Sendable {
    static let shared = SignalGuard()

    private let lock = Monitor()
    private var cleanups: [Int: () -> Void] = [:]
    private var nextToken = 0
    private var sources: [DispatchSourceSignal] = []
    private let criticalSection = Monitor()

    private init() {}

    func install() {
        signal(SIGXFSZ, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            // Ignored already (nohup, a job started with `&` by a script): the caller asked for
            // the run to survive it, so it is left ignored.
            let previous = signal(sig, SIG_IGN)
            if let previous, unsafeBitCast(previous, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) { continue }
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global(qos: .userInteractive))
            source.setEventHandler { [weak self] in self?.handle(sig) }
            source.resume()
            sources.append(source)
        }
    }

    /// Registers work to run if a signal ends the process. Returns a token for `removeCleanup`.
    @discardableResult
    func addCleanup(_ work: @escaping () -> Void) -> Int {
        lock.lock(); defer { lock.unlock() }
        nextToken += 1
        cleanups[nextToken] = work
        return nextToken
    }

    func removeCleanup(_ token: Int) {
        lock.lock(); defer { lock.unlock() }
        cleanups[token] = nil
    }

    /// Runs `work` with signal exits held off until it returns.
    func critical<T>(_ work: () throws -> T) rethrows -> T {
        criticalSection.lock(); defer { criticalSection.unlock() }
        return try work()
    }

    private func handle(_ sig: Int32) {
        criticalSection.lock()
        lock.lock()
        let work = cleanups.sorted { $0.key > $1.key }.map(\.value)
        cleanups = [:]
        lock.unlock()
        emit(STDERR_FILENO, "\nfastbackup: interrupted by signal \(sig); cleaning up\n")
        for w in work { w() }
        _exit(128 + sig)
    }
}
