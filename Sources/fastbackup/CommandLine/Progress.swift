import Foundation
import ThreadKit

/// One progress line on stderr (bytes, files, MB/s, ETA), redrawn at most 10 times a second,
/// and only when stderr is a terminal: cron and CI logs get the plain lines only.
final class Progress: @unchecked Sendable {
    static let shared = Progress()

    private let lock = Monitor()
    private var bytes = 0, files = 0
    private var totalBytes = 0, totalFiles = 0
    private var label = ""
    private var started = Date()
    private var timer: DispatchSourceTimer?
    private var drawn = false
    let enabled = isatty(STDERR_FILENO) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"

    func start(label: String, totalBytes: Int, totalFiles: Int) {
        lock.lock()
        self.label = label
        self.totalBytes = totalBytes
        self.totalFiles = totalFiles
        bytes = 0; files = 0; started = Date()
        lock.unlock()
        guard enabled, timer == nil else { return }
        let t = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        t.schedule(deadline: .now() + 0.1, repeating: 0.1)
        t.setEventHandler { [weak self] in self?.draw() }
        t.resume()
        timer = t
    }

    func add(bytes b: Int, files f: Int) {
        lock.lock()
        bytes += b
        files += f
        lock.unlock()
    }

    func stop() {
        timer?.cancel()
        timer = nil
        clearLine()
    }

    func clearLine() {
        lock.lock(); defer { lock.unlock() }
        if drawn {
            emit(STDERR_FILENO, "\r\u{1B}[K")
            drawn = false
        }
    }

    private func draw() {
        lock.lock(); defer { lock.unlock() }
        let elapsed = max(Date().timeIntervalSince(started), 0.001)
        let rate = Double(bytes) / elapsed
        // A total of 0 is unknown (a rollback of another tool's archive, and files in any rollback).
        let done = totalBytes > 0 ? "\(formatBytes(Int64(bytes))) of \(formatBytes(Int64(totalBytes)))" : formatBytes(Int64(bytes))
        let count = totalFiles > 0 ? "\(files) of \(totalFiles) files" : "\(files) files"
        var line = String(format: "%@: %@, %@, %.1f MB/s", label, done, count, rate / 1e6)
        if rate > 0, totalBytes > bytes {
            line += String(format: ", ETA %.0f s", Double(totalBytes - bytes) / rate)
        }
        emit(STDERR_FILENO, "\r\u{1B}[K" + line)
        drawn = true
    }
}

/// "1.2 GB", "870.4 MB", "512 B": decimal units, as the benchmark tables use.
func formatBytes(_ n: Int64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"]
    var value = Double(n), i = 0
    // 999,999 bytes is "1.0 MB", not "1000.0 KB": move up when the rounded value would show 1000.
    while value >= 999.95 && i < units.count - 1 { value /= 1000; i += 1 }
    return i == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[i])
}
