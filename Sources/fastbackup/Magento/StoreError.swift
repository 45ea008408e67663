import SystemCalls

/// An error of the store layer: what failed, and the system call behind it when there is one
/// (never flattened into the text). Messages state the fact; what a person can do about it
/// (`--in-place`, `--skip-space-check`) is added at the command line's edge (`ErrorAdvice`).
struct StoreError: Error, CustomStringConvertible {
    enum Kind: Equatable {
        /// `app/etc/env.php` is missing: Magento's "not installed".
        case notInstalled
        /// The destination cannot hold the backup, or the staged restore, by the numbers.
        case notEnoughSpace(rollback: Bool)
        /// The store is in a state the operation refuses to work on (nothing was changed).
        case refused
        /// An operation on the store failed.
        case failed
    }

    let kind: Kind
    let message: String
    let cause: SystemCallError?

    init(_ kind: Kind, _ message: String, cause: SystemCallError? = nil) {
        self.kind = kind
        self.message = message
        self.cause = cause
    }

    /// A failed call on `path`, as `failed` with its cause, errno read now.
    static func call(_ message: String, _ call: String, path: String? = nil, errno: Errno = .current) -> StoreError {
        StoreError(.failed, message, cause: SystemCallError(call, errno, path: path))
    }

    var description: String {
        guard let cause else { return message }
        return "\(message): \(cause.errno)"
    }
}
