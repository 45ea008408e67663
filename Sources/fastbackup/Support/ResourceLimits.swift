import Foundation
import ThreadKit

/// The process limits every pool is sized from, read once at start-up.
struct ResourceLimits {
    let cores: Int
    /// RLIMIT_NOFILE's soft limit.
    let openFiles: Int
    /// RLIMIT_NPROC's soft limit (threads count against it on Linux).
    let processes: Int
    /// RLIMIT_FSIZE's soft limit in bytes, nil when unlimited.
    let fileSize: Int64?
    /// RLIMIT_AS's soft limit in bytes, nil when unlimited.
    let addressSpace: Int64?

    static let current = ResourceLimits()

    private init() {
        cores = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        func soft(_ r: __rlimit_resource_t) -> rlim_t? {
            var lim = rlimit()
            guard getrlimit(r, &lim) == 0, lim.rlim_cur != rlim_t.max else { return nil }
            return lim.rlim_cur
        }
        openFiles = soft(__rlimit_resource_t(RLIMIT_NOFILE.rawValue)).map { Int(clamping: $0) } ?? 1 << 20
        processes = soft(__rlimit_resource_t(__RLIMIT_NPROC.rawValue)).map { Int(clamping: $0) } ?? 1 << 20
        fileSize = soft(__rlimit_resource_t(RLIMIT_FSIZE.rawValue)).map { Int64(clamping: $0) }
        addressSpace = soft(__rlimit_resource_t(RLIMIT_AS.rawValue)).map { Int64(clamping: $0) }
    }

    /// Descriptors left for worker pools after stdio, the archive, the database and slack.
    var descriptorBudget: Int { max(1, openFiles - 16) }

    var summary: String {
        "cores \(cores), RLIMIT_NOFILE \(openFiles), RLIMIT_NPROC \(processes), RLIMIT_FSIZE \(fileSize.map(String.init) ?? "unlimited"), RLIMIT_AS \(addressSpace.map(String.init) ?? "unlimited")"
    }
}
