/// Where a backup is written: a file linked into place when complete (``AtomicOutputFile``),
/// or an object that exists once its upload completes (``ObjectOutput``). Either way nothing
/// half-written ever looks like a backup.
protocol BackupOutput: AnyObject {
    /// What the producer writes to.
    var fd: Int32 { get }
    /// Names the output in errors.
    var displayPath: String { get }
    /// A local file: direct I/O and write-behind apply, and its disk's free space matters.
    var isLocalFile: Bool { get }
    /// Makes the backup exist; throws when it cannot, leaving nothing.
    func commit() throws
    /// Leaves nothing behind (safe after a failure, and more than once).
    func abandon()
    /// Abandons the output and returns the error to report for the producer's `error`: a
    /// transfer's own failure when the producer only saw its pipe closed (EPIPE).
    func failureBehind(_ error: Error) -> Error
}

extension AtomicOutputFile: BackupOutput {
    var displayPath: String { temporaryPath }
    var isLocalFile: Bool { true }

    func failureBehind(_ error: Error) -> Error {
        abandon()
        return error
    }
}
