import Foundation
import ObjectStore

/// A backup file to read for a rollback: a local file, or an object streamed with parallel
/// ranged GETs (``RangedDownload``) through a pipe. Either way the reader gets a descriptor;
/// ``finish()`` then says whether the whole object arrived (a download that failed halfway
/// shows as a truncated stream to the reader, and as its own error here).
final class ArchiveInput {
    let fd: Int32
    let shown: String
    private let download: RangedDownload?
    private var closed = false

    /// Opens `archive`, a path or `s3://bucket/key` (then `settings` must be given).
    init(_ archive: String, settings: S3Settings?) throws {
        shown = archive
        if let (location, name) = S3Location.object(archive) {
            guard let settings else { throw TreeError("\(archive): no object store settings") }
            let d = try RangedDownload(settings: settings, bucket: location.bucket, key: location.key(name))
            download = d
            fd = d.readEnd
        } else {
            download = nil
            fd = open(archive, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw TreeError("Cannot open \(archive): \(String(cString: strerror(errno)))", errno: errno) }
        }
    }

    deinit { closeInput() }

    /// Closes the descriptor (a download still running then stops with EPIPE).
    func closeInput() {
        if !closed { close(fd); closed = true }
    }

    /// Closes the input and, for an object, waits for the transfer and throws its failure.
    func finish() throws {
        closeInput()
        try download?.finish()
    }

    /// The error to report for a reader's failure: the download's own, when the reader only
    /// saw the stream end early.
    func failureBehind(_ error: Error) -> Error {
        closeInput()
        guard let download else { return error }
        do {
            try download.finish()
            return error
        } catch let failure {
            return failure
        }
    }

    /// The archive's size for the space check and the progress line: exact for fastbackup's
    /// own local archives; for an object, its stored size (the expanded size is unknown
    /// without reading it).
    static func size(_ archive: String, settings: S3Settings?) -> ArchiveSize {
        guard let (location, name) = S3Location.object(archive) else { return ArchiveSize.of(archive) }
        guard let settings, let client = try? S3Client(settings: settings),
              let head = try? client.head(location.bucket, location.key(name)) else { return ArchiveSize(bytes: 0, exact: false) }
        return ArchiveSize(bytes: head.size, exact: false)
    }
}
