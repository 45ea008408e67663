import Glibc

/// Monotonic seconds, for the durations `--verbose` reports.
enum Clock {
    static func seconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// "1.23 s" since `start`.
    static func since(_ start: Double) -> String {
        let s = seconds() - start
        return s < 10 ? String(format: "%.2f s", s) : String(format: "%.1f s", s)
    }
}
