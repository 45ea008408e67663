import DBStream
import Foundation
import ThreadKit
import ParallelGzip
import StreamTar

extension ParallelCompressor: TarByteSink {}

/// `setup:backup [--code] [--media] [--db]`: Magento's command, its lines and its file names.
enum BackupCommand {
    static let specs: [OptionSpec] = [
        .flag("code", "Take code and configuration files backup (excluding temporary files)"),
        .flag("media", "Take media backup"),
        .flag("db", "Take complete database backup"),
        .value("root", "DIR", "Magento root (default: the current folder)"),
        .value("jobs", short: "j", "N", "Threads for compression (default: every core)"),
        .value("level", "0-9", "Fixed compression level; 0 stores (default: chosen per chunk)"),
        .value("compression", "gzip|zstd", "Archive codec (default: gzip, .tgz); given, it also compresses the DB dump (.sql.gz, .sql.zst)"),
        .value("chunk-size", "MiB", "Compression chunk size in MiB"),
        .value("exclude", "PATTERN", "Leave out paths matching this glob", repeatable: true),
        .flag("no-maintenance", "Do not enable maintenance mode"),
        .flag("skip-space-check", "Do not refuse to start when free space looks too small"),
        .value("target", "s3://BUCKET/PREFIX", "Stream the backups to this object store location instead of var/backups"),
        .value("endpoint", "URL", "Object store endpoint (default: AWS_ENDPOINT_URL, or AWS itself)"),
        .flag("verify", "Read each backup through once written, as info:backups:verify does"),
        .flag("keep-local", "With --target, also keep each backup in var/backups"),
        .value("sse-c-key-file", "FILE", "With --target, encrypt the objects with this 256-bit key (SSE-C); rollback needs the same file"),
        .flag("sse", "With --target, ask the store to encrypt the objects with its own keys (SSE-S3)"),
        .value("keep", "N", "After each backup, remove the oldest of its kind beyond the newest N (where it was written)"),
        .value("strip", "TABLES", "With --db: dump these tables' structure without their rows; names, * and ? wildcards and n98-magerun2's groups (@stripped, @development, ...: see db:groups), space-separated", repeatable: true),
        .value("include-tables", "TABLES", "With --db: dump only these tables (as --strip names them; n98-magerun2's --include)", repeatable: true),
        .value("exclude-tables", "TABLES", "With --db: leave these tables out, structure too (as --strip names them; n98-magerun2's --exclude)", repeatable: true),
        .flag("incremental", "Store only the code and media files that changed since the newest backup of their kind (<ts>_filesystem_media.incr.tgz)"),
        .value("full-every", "N", "With --incremental, take a full backup when the chain already holds N backups (default: \(BackupChain.defaultFullEvery))"),
    ] + OptionSpec.databaseAndCommon

    static func run(_ args: [String]) throws -> Int32 {
        let opts = try ParsedOptions.parse(args, specs: specs)
        Console.quiet = opts.has("quiet")
        if opts.has("help") {
            Console.line(Commands.named("setup:backup").help)
            return 0
        }
        Console.verbose = opts.has("verbose")
        let kinds = [BackupKind.code, .media, .db].filter { opts.has($0.rawValue) }
        guard !kinds.isEmpty else {
            Console.line("Not enough information provided to take backup.")
            return 1
        }
        let root = try MagentoRoot(opts.value("root"))
        let compression = try ArchiveSettings(opts)
        CommandLimits.backup(compression: compression.options).printDetails()
        var dbConfig: DatabaseConfig?
        if kinds.contains(.db) { dbConfig = try DatabaseSettings.load(root: root, options: opts) }
        let selection = TableSelection(strip: opts.all("strip"), include: opts.all("include-tables"), exclude: opts.all("exclude-tables"),
                                       prefix: dbConfig?.tablePrefix ?? "")
        if !selection.isEmpty {
            guard kinds.contains(.db) else { throw UsageError(description: "--strip, --include-tables and --exclude-tables go with --db.") }
            do { try selection.validate() } catch { throw UsageError(description: "\(error)") }
        }
        // Settings first: missing credentials fail before maintenance mode goes on.
        let encryption = try OffsiteOptions.encryption(opts, writing: true)
        let target = try opts.value("target").map { try OffsiteTarget(url: $0, endpoint: opts.value("endpoint"), encryption: encryption) }
        if target == nil, opts.value("endpoint") != nil { throw UsageError(description: "--endpoint needs --target.") }
        if target == nil, encryption != nil { throw UsageError(description: "--sse and --sse-c-key-file need --target.") }
        if target == nil, opts.has("keep-local") { throw UsageError(description: "--keep-local needs --target.") }
        let retention = try opts.int("keep", in: 1...100_000).map(BackupRetention.init(keep:))
        if opts.has("incremental") {
            // The chain's links are found beside each other in var/backups.
            if target != nil { throw UsageError(description: "--incremental writes to var/backups; it does not take --target yet.") }
            if compression.options.codec != .gzip { throw UsageError(description: "--incremental needs gzip archives (.tgz): a .tar.zst carries no readable index for the next backup.") }
        } else if opts.value("full-every") != nil {
            throw UsageError(description: "--full-every needs --incremental.")
        }
        _ = try opts.int("full-every", in: 1...10_000)

        let runLock = try RunLock(root: root)
        defer { runLock.release() }
        if kinds.contains(.db), let dump = DatabaseRestoreMarker(root: root).unfinishedDump {
            throw StoreError(.refused, "Not dumping the database: " + DatabaseRestoreMarker.advice(dump))
        }
        return try withMaintenance(root: root, opts: opts) { _ in
            // A rollback killed during its swap leaves part of the live tree set aside: a backup
            // taken now would miss it (and rolling back to that backup would delete it). Finish
            // that swap first, as the next rollback would.
            if kinds.contains(where: { $0 != .db }) { try TreeRestore.recover(root: root) }
            return try backUp(kinds: kinds, root: root, opts: opts, compression: compression, dbConfig: dbConfig,
                              selection: selection, target: target, retention: retention)
        }
    }

    private static func backUp(kinds: [BackupKind], root: MagentoRoot, opts: ParsedOptions,
                               compression: ArchiveSettings, dbConfig: DatabaseConfig?, selection: TableSelection, target: OffsiteTarget?,
                               retention: BackupRetention?) throws -> Int32 {
        let keepLocal = opts.has("keep-local")
        if let target {
            // A backup killed with SIGKILL leaves its upload unfinished; nothing lists it as a
            // backup, but the store keeps its parts until someone aborts it.
            for name in try target.abortLeftoverUploads(where: { BackupKind(fileName: $0) != nil }) {
                Console.line("Aborted the unfinished upload of \(target.url(name)), left by an interrupted backup.")
            }
        }
        if target == nil || keepLocal {
            try FileManager.default.createDirectory(atPath: root.backupsDirectory, withIntermediateDirectories: true)
            AtomicOutputFile.removeLeftovers(in: root.backupsDirectory, diagnostics: .console)
        }
        var retentionFailures: [String] = []
        var unverified = 0
        if opts.has("incremental") {
            // A second incremental within one second would take the name of the first, which it
            // builds on, and replace it: wait for the next second instead (at most one).
            func taken(_ ts: Int) -> Bool {
                kinds.contains { $0 != .db && access(root.backupsDirectory + "/" + $0.fileName(timestamp: ts, incremental: true), F_OK) == 0 }
            }
            while taken(Int(time(nil))) { usleep(50_000) }
        }
        let timestamp = Int(time(nil))
        // The dump stays Magento's plain .sql unless --compression is given.
        let dumpCodec = opts.value("compression") != nil ? compression.options.codec : nil
        for kind in kinds {
            var base: RecordReader?
            if opts.has("incremental"), kind != .db {
                let finding = Clock.seconds()
                let (found, why) = BackupChain.base(for: kind, in: root.backupsDirectory,
                                                    fullEvery: try opts.int("full-every", in: 1...10_000) ?? BackupChain.defaultFullEvery)
                base = found
                if let found { Console.detail("incremental on \(why): its chain checked and its record opened in \(Clock.since(finding)) (\(found.members.count) members)") }
                if found == nil { Console.line("\(kind.title) backup is a full one: \(why).") }
            }
            func place(incremental: Bool) -> (String, BackupDestination) {
                let name = kind.fileName(timestamp: timestamp, codec: compression.options.codec, dumpCodec: dumpCodec, incremental: incremental)
                let file = root.backupsDirectory + "/" + name
                return (name, target.map { keepLocal ? .objectAndFile($0, name: name, file: file) : .object($0, name: name) } ?? .file(file))
            }
            var (name, destination) = place(incremental: base != nil)
            Console.line("\(kind.title) backup is starting...")
            switch kind {
            case .code, .media:
                let backup = TreeBackup(root: root, kind: kind, settings: compression, patterns: opts.all("exclude"),
                                        checkSpace: !opts.has("skip-space-check"), name: name, base: base)
                do {
                    try backup.write(to: destination)
                } catch let error as RecordError where base != nil {
                    // Nothing of the incremental was kept (it is linked into place only when whole).
                    Console.line("\(kind.title) backup is a full one: the record of the backup it was to build on is damaged (\(error)).")
                    (name, destination) = place(incremental: false)
                    var full = backup
                    full.name = name
                    full.base = nil
                    try full.write(to: destination)
                }
            case .db:
                let stats = try DatabaseBackup.write(config: dbConfig!, to: destination, threads: compression.options.threads,
                                                     codec: dumpCodec, selection: selection)
                if !selection.isEmpty {
                    Console.line("Database backup left the rows of \(stats.stripped.count) tables out (--strip) and \(stats.excluded.count) tables out whole; its header says which.")
                }
            }
            Console.line("\(kind.title) backup filename: \(name) (The archive can be uncompressed with 7-Zip on Windows systems)")
            Console.line("\(kind.title) backup path: \(destination.shown)")
            if let copy = destination.localCopy { Console.line("\(kind.title) backup local copy: \(copy)") }
            Console.success("\(kind.title) backup completed successfully.")
            if opts.has("verify") {
                let verifier = BackupVerifier(settings: target?.settings, threads: compression.options.threads)
                var whole = true
                for written in [destination.shown] + (destination.localCopy.map { [$0] } ?? []) {
                    let report = verifier.verify(written, kind: kind)
                    if report.ok {
                        Console.line("\(kind.title) backup verified: " + VerifyCommand.line(report))
                    } else {
                        Console.error("\(kind.title) backup verification failed: " + VerifyCommand.line(report))
                        whole = false
                    }
                }
                // A backup that does not read back must not make room by removing good ones.
                if !whole { unverified += 1; continue }
            }
            if let retention {
                retentionFailures += retention.apply(kind: kind, written: name, destination: destination, root: root)
            }
        }
        for failure in retentionFailures { Console.error(failure) }
        return retentionFailures.isEmpty && unverified == 0 ? 0 : 1
    }
}

/// The compression options shared by backup commands.
struct ArchiveSettings {
    var options: CompressionOptions

    init(_ opts: ParsedOptions) throws {
        let codecName = opts.value("compression") ?? "gzip"
        guard let codec = CompressionCodec(rawValue: codecName) else {
            throw UsageError(description: "--compression takes gzip or zstd, not '\(codecName)'.")
        }
        let chunk = try opts.int("chunk-size", in: 1...256).map { $0 << 20 }
        options = CompressionOptions(codec: codec, level: try opts.int("level", in: 0...9),
                                     threads: try opts.int("jobs", in: 1...1024), chunkSize: chunk)
        // Archives go to disk past the page cache (no copy, and the store's cached files stay
        // cached); where the file system refuses that, they are written back as they grow, so
        // the fsync before the rename finds little left to do.
        options.directIO = true
        options.writeBehind = 8 << 20
        fitMemory(threadsGiven: opts.value("jobs") != nil, chunkGiven: chunk != nil)
    }

    /// The compressor's buffers may take this much of the backup's 256 MiB (the file read-ahead
    /// ring holds 64 MiB more): on a 16-core host the default pool alone was 312 MiB.
    static let compressionBudget = 128 << 20

    /// Halves the chunk size down to 1 MiB when the thread count was asked for (and the chunk
    /// size was not), then drops threads, until the pool fits ``compressionBudget``. Chunks
    /// smaller than 4 MiB cost ~1% of text compression; fewer threads cost nothing where the
    /// disk is slower than the cores.
    private mutating func fitMemory(threadsGiven: Bool, chunkGiven: Bool) {
        let asked = (options.threads, options.chunkSize)
        while ParallelCompressor.memoryBound(options) > Self.compressionBudget {
            if threadsGiven && !chunkGiven && options.chunkSize > 1 << 20 {
                options.chunkSize /= 2
            } else if options.threads > 1 {
                options.threads -= 1
            } else {
                break
            }
        }
        if (options.threads, options.chunkSize) != asked {
            Console.detail("compression: \(options.threads) threads, \(options.chunkSize >> 20) MiB chunks (asked \(asked.0) and \(asked.1 >> 20) MiB) to keep its buffers within \(Self.compressionBudget >> 20) MiB")
        }
    }
}
