import ObjectStore

/// The object store options the commands share.
enum OffsiteOptions {
    /// `--sse-c-key-file FILE` or (`writing`) `--sse`: how objects are encrypted at rest.
    static func encryption(_ opts: ParsedOptions, writing: Bool) throws -> S3Encryption? {
        let keyFile = opts.value("sse-c-key-file")
        if writing, keyFile != nil, opts.has("sse") {
            throw UsageError(description: "--sse and --sse-c-key-file exclude each other: SSE-C uses your key, --sse the store's.")
        }
        if let keyFile { return try S3Encryption.customerKey(file: keyFile) }
        return writing && opts.has("sse") ? .storeManaged : nil
    }
}
