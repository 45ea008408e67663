import Foundation
import ObjectStore

/// `--target s3://BUCKET/PREFIX`: the object store location backups go to and come from,
/// with the settings read from the environment and `~/.aws` (`--endpoint` overrides the
/// endpoint).
struct OffsiteTarget {
    let location: S3Location
    let settings: S3Settings

    init(url: String, endpoint: String?, encryption: S3Encryption? = nil) throws {
        guard let location = S3Location(url: url) else {
            throw TreeError("--target takes s3://BUCKET/PREFIX, not '\(url)'")
        }
        self.location = location
        var settings = try S3Settings.load(endpoint: endpoint)
        settings.encryption = encryption
        self.settings = settings
    }

    /// `s3://bucket/prefix/name`.
    func url(_ name: String) -> String { "s3://\(location.bucket)/\(location.key(name))" }

    /// The objects under the prefix that are backups by their names (`isBackup`), one level
    /// deep only: `PREFIX/<name>`.
    func objects(where isBackup: (String) -> Bool) throws -> [(name: String, object: S3Client.Object)] {
        let client = try S3Client(settings: settings)
        let prefix = location.prefix.isEmpty ? "" : location.prefix + "/"
        return try client.list(location.bucket, prefix: prefix).compactMap { o in
            let name = String(o.key.dropFirst(prefix.count))
            guard !name.contains("/"), isBackup(name) else { return nil }
            return (name, o)
        }
    }

    /// Aborts the unfinished uploads of backups under the prefix: what a run killed with
    /// SIGKILL (or a lost machine) left. Returns their names, for the caller to say so.
    func abortLeftoverUploads(where isBackup: (String) -> Bool) throws -> [String] {
        let client = try S3Client(settings: settings)
        let prefix = location.prefix.isEmpty ? "" : location.prefix + "/"
        var aborted: [String] = []
        for upload in try client.pendingUploads(location.bucket, prefix: prefix) {
            let name = String(upload.key.dropFirst(prefix.count))
            guard !name.contains("/"), isBackup(name) else { continue }
            try client.abortUpload(location.bucket, upload.key, uploadID: upload.uploadID)
            aborted.append(name)
        }
        return aborted
    }
}
