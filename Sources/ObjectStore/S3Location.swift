/// Where backups live in an object store: `s3://BUCKET/PREFIX`. Object keys are
/// `PREFIX/<name>` with the same names as in `var/backups`.
public struct S3Location: Equatable, Sendable, CustomStringConvertible {
    public let bucket: String
    /// Without leading or trailing slashes; empty for the bucket's top.
    public let prefix: String

    /// Parses `s3://bucket[/prefix]`; nil for anything else.
    public init?(url: String) {
        guard url.hasPrefix("s3://") else { return nil }
        let rest = url.dropFirst(5)
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let b = parts.first, !b.isEmpty else { return nil }
        bucket = String(b)
        var p = parts.count > 1 ? String(parts[1]) : ""
        while p.hasSuffix("/") { p.removeLast() }
        while p.hasPrefix("/") { p.removeFirst() }
        prefix = p
    }

    public init(bucket: String, prefix: String) {
        self.bucket = bucket
        self.prefix = prefix
    }

    /// The key of backup file `name` here.
    public func key(_ name: String) -> String { prefix.isEmpty ? name : prefix + "/" + name }

    /// Splits `s3://bucket/prefix/name` into the location and the name (the last component).
    public static func object(_ url: String) -> (S3Location, String)? {
        guard let whole = S3Location(url: url), !whole.prefix.isEmpty, !url.hasSuffix("/") else { return nil }
        let parts = whole.prefix.split(separator: "/")
        let name = String(parts.last!)
        return (S3Location(bucket: whole.bucket, prefix: parts.dropLast().joined(separator: "/")), name)
    }

    public var description: String { "s3://\(bucket)" + (prefix.isEmpty ? "" : "/\(prefix)") }
}
