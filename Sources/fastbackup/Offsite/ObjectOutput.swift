import ObjectStore

/// A backup streamed to the object store as it is produced (``MultipartUpload``): it becomes
/// an object, and so a backup, only at ``commit()``. A signal aborts the upload.
final class ObjectOutput: BackupOutput {
    let url: String
    private let upload: MultipartUpload
    private var cleanupToken: Int?
    private var finished = false

    init(target: OffsiteTarget, name: String) throws {
        url = target.url(name)
        upload = try MultipartUpload(settings: target.settings, bucket: target.location.bucket, key: target.location.key(name))
        let upload = self.upload
        cleanupToken = SignalGuard.shared.addCleanup { upload.cancel() }
    }

    deinit { abandon() }

    var fd: Int32 { upload.writeEnd }
    var displayPath: String { url }
    var isLocalFile: Bool { false }

    func commit() throws {
        guard !finished else { return }
        finished = true
        defer { removeCleanup() }
        upload.closeWriting()
        _ = try upload.finish()
    }

    func abandon() {
        guard !finished else { return }
        finished = true
        upload.cancel()
        removeCleanup()
    }

    /// What to report for a producer's failure: the upload's own error when there is one
    /// (the producer then only saw its pipe closed, EPIPE), else the producer's. Abandons.
    func failureBehind(_ error: Error) -> Error {
        let cause = upload.failureSoFar
        abandon()
        guard let cause, (cause as? S3Error)?.kind != .cancelled else { return error }
        return cause
    }

    private func removeCleanup() {
        if let token = cleanupToken { SignalGuard.shared.removeCleanup(token) }
        cleanupToken = nil
    }
}
