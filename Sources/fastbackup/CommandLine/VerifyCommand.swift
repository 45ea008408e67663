import Foundation

/// `info:backups:verify [NAME...] [--all]`: reads backups through, as a rollback would, and
/// says whether each would restore (``BackupVerifier``). Exit 0 only when every one is whole.
enum VerifyCommand {
    static let specs: [OptionSpec] = [
        .value("root", "DIR", "Magento root (default: the current folder)"),
        .flag("all", "Verify every backup listed (default when no name is given)"),
        .flag("json", "Print the results as JSON, for scripts"),
        .value("jobs", short: "j", "N", "Threads for decompression (default: every core)"),
        .value("target", "s3://BUCKET/PREFIX", "Verify the backups in this object store location"),
        .value("endpoint", "URL", "Object store endpoint (default: AWS_ENDPOINT_URL, or AWS itself)"),
        .value("sse-c-key-file", "FILE", "The SSE-C key the objects were written with"),
        .flag("help", short: "h", "Display this help message"),
    ]

    static func run(_ args: [String]) throws -> Int32 {
        let opts = try ParsedOptions.parse(args, specs: specs, acceptsNames: true)
        Console.quiet = opts.has("quiet")
        if opts.has("help") {
            Console.line(Commands.named("info:backups:verify").help)
            return 0
        }
        let jobs = try opts.int("jobs", in: 1...1024) ?? ResourceLimits.current.cores
        let encryption = try OffsiteOptions.encryption(opts, writing: false)
        let target = try opts.value("target").map { try OffsiteTarget(url: $0, endpoint: opts.value("endpoint"), encryption: encryption) }
        let listed: [ListCommand.Row]
        if let target {
            listed = try ListCommand.list(target)
        } else {
            listed = try ListCommand.list(try MagentoRoot(opts.value("root")))
        }
        var chosen: [ListCommand.Row] = []
        if opts.positional.isEmpty || opts.has("all") {
            chosen = listed
        }
        for name in opts.positional {
            guard let row = listed.first(where: { $0.file == name || $0.path == name }) else {
                Console.error("\(name): no such backup in \(target?.location.description ?? "var/backups") (info:backups:list shows them)")
                return 1
            }
            if !chosen.contains(where: { $0.path == row.path }) { chosen.append(row) }
        }
        let verifier = BackupVerifier(settings: target?.settings, threads: jobs)
        var reports: [BackupVerifier.Report] = []
        for row in chosen {
            guard let kind = BackupKind(fileName: row.file) else { continue }
            let report = verifier.verify(row.path, kind: kind)
            reports.append(report)
            if !opts.has("json") { Console.line(line(report)) }
        }
        if opts.has("json") {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            Console.line(String(decoding: try encoder.encode(reports), as: UTF8.self))
        } else if reports.isEmpty {
            Console.line("No backup files found.")
        }
        return reports.allSatisfy(\.ok) ? 0 : 1
    }

    /// `1700000000_filesystem_media.tgz: OK (9,472 entries, 980.6 MB)` or `...: DAMAGED: ...`.
    static func line(_ r: BackupVerifier.Report) -> String {
        let what = r.type == "db" ? "statements" : "entries"
        let chain = (r.chain?.count ?? 0) > 1 ? "; its chain of \(r.chain!.count) backups is whole" : ""
        if r.ok { return "\(r.file): OK (\(r.entries) \(what), \(formatBytes(r.bytes))\(chain))" }
        return "\(r.file): DAMAGED: \(r.damage ?? "unknown")"
    }
}
