import Glibc
import SystemCalls

/// An error from DBStream: reading the connection settings, talking to the
/// server, or writing and reading dump files.
///
/// Every kind carries what a person needs to act on it: the path, the host and
/// user (never the password), the server's error number and message, the SQL
/// statement (an excerpt) and, for a restore, the line of the statement.
public struct DBError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, with its context.
    public enum Kind: Sendable, Equatable {
        /// The settings file at `path` cannot be used (parse error, missing key, wrong shape).
        case config(path: String, reason: String)
        /// `mysql_real_connect` failed. `server` is "host:port", the socket path, or "localhost".
        case connect(server: String, user: String, errno: UInt32, message: String)
        /// A statement failed on the server or the connection broke while it ran.
        case query(sql: String, errno: UInt32, message: String)
        /// A system call on a dump file failed.
        case io(errno: Int32, path: String, operation: String)
        /// A restore stopped at a statement: its first line, the server error and the
        /// tables whose data had already been restored.
        case restore(path: String, line: Int, sql: String, errno: UInt32, message: String, restoredTables: [String])
        /// The dump file is not valid SQL for the splitter (for example an unterminated string at the end).
        case syntax(path: String, line: Int, reason: String)
        /// The operation stopped because another part of it failed first.
        case cancelled
    }

    /// What went wrong.
    public var kind: Kind

    /// Makes an error of the given kind.
    public init(_ kind: Kind) { self.kind = kind }

    /// A failed system call outside a dump file (a thread, a pipe), as an ``Kind/io`` error.
    public init(_ error: SystemCallError) {
        kind = .io(errno: error.errno.rawValue, path: error.path ?? "", operation: error.call)
    }

    /// The failed system call behind an `.io` error.
    public var cause: SystemCallError? {
        guard case .io(let errno, let path, let operation) = kind else { return nil }
        return SystemCallError(operation, Errno(errno), path: path)
    }

    /// The server's error number, when the server (or the client library) gave one.
    public var serverErrno: UInt32? {
        switch kind {
        case .connect(_, _, let e, _), .query(_, let e, _), .restore(_, _, _, let e, _, _): return e
        default: return nil
        }
    }

    /// One line for a person; never contains a password.
    public var description: String {
        switch kind {
        case .config(let path, let reason):
            return "Cannot read the database settings in \(path): \(reason)"
        case .connect(let server, let user, let errno, let message):
            return "Cannot connect to the database as '\(user)'@'\(server)': \(message) (\(errno))"
        case .query(let sql, let errno, let message):
            return "Query failed: \(message) (\(errno)) in: \(DBError.excerpt(sql))"
        case .io(let errno, let path, let operation):
            return "\(operation) \(path): \(String(cString: strerror(errno))) (errno \(errno))"
        case .restore(let path, let line, let sql, let errno, let message, let tables):
            let done = tables.isEmpty ? "no table restored yet"
                : "\(tables.count) table(s) already restored: \(tables.prefix(10).joined(separator: ", "))\(tables.count > 10 ? ", ..." : "")"
            return "Restore failed at \(path):\(line): \(message) (\(errno)) in: \(DBError.excerpt(sql)); \(done)"
        case .syntax(let path, let line, let reason):
            return "Cannot read SQL at \(path):\(line): \(reason)"
        case .cancelled:
            return "The operation stopped because another part of it failed"
        }
    }

    /// The first 200 characters of a statement, on one line, for messages.
    static func excerpt(_ sql: String) -> String {
        var s = String(sql.prefix(200))
        s = String(s.map { $0 == "\n" || $0 == "\r" ? " " : $0 })
        if sql.count > 200 { s += "..." }
        return s
    }
}

extension DBError {
    /// ER_LOCK_DEADLOCK: InnoDB rolled the statement (its transaction) back; it may run again.
    var isDeadlock: Bool {
        if case .query(_, let errno, _) = kind { return errno == 1213 }
        return false
    }
}
