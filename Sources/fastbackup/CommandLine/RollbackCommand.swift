import DBStream
import Foundation
import ObjectStore

/// `setup:rollback [-c FILE] [-m FILE] [-d FILE]`: Magento's command, made safe. Backups are
/// kept; code and media are staged and swapped in; maintenance mode is on during the work.
enum RollbackCommand {
    static let specs: [OptionSpec] = [
        .value("code-file", short: "c", "NAME", "Basename of the code backup file in var/backups, or a path"),
        .value("media-file", short: "m", "NAME", "Basename of the media backup file in var/backups, or a path"),
        .value("db-file", short: "d", "NAME", "Basename of the db backup file in var/backups, or a path"),
        .flag("no-interaction", short: "n", "Do not ask any interactive question"),
        .value("root", "DIR", "Magento root (default: the current folder)"),
        .value("jobs", short: "j", "N", "Threads for decompression and writing (default: every core)"),
        .flag("in-place", "Extract over the live tree instead of staging beside it (for a full disk)"),
        .flag("no-maintenance", "Do not enable maintenance mode"),
        .value("target", "s3://BUCKET/PREFIX", "Read the named backups from this object store location"),
        .value("endpoint", "URL", "Object store endpoint (default: AWS_ENDPOINT_URL, or AWS itself)"),
        .value("sse-c-key-file", "FILE", "The SSE-C key the backups in the object store were written with"),
        .value("only", "PATTERN", "Restore only the paths (root-relative globs, as --exclude) that match, and what lies below them", repeatable: true),
        .value("to", "DIR", "Extract into DIR (outside the store) instead of the live store; the store is not touched"),
        .flag("force", "With --to, write into a DIR that is not empty"),
        .flag("allow-stripped", "Restore a dump taken with tables stripped or left out (--strip, --exclude-tables) without asking"),
        .flag("db-as-written", "Run the SQL file's INSERTs and CREATE TABLEs as written: no LOAD DATA rows, no keys built after the rows (slower; for a server whose tmpdir cannot hold a key build)"),
    ] + OptionSpec.databaseAndCommon

    static func run(_ args: [String]) throws -> Int32 {
        let opts = try ParsedOptions.parse(args, specs: specs)
        Console.quiet = opts.has("quiet")
        if opts.has("help") {
            Console.line(Commands.named("setup:rollback").help)
            return 0
        }
        Console.verbose = opts.has("verbose")
        let requested: [(BackupKind, String)] = [(.code, "code-file"), (.media, "media-file"), (.db, "db-file")]
            .compactMap { kind, option in opts.value(option).map { (kind, $0) } }
        guard !requested.isEmpty else {
            Console.line("Not enough information provided to roll back.")
            return 1
        }
        let root = try MagentoRoot(opts.value("root"))
        // Backups in the object store: `-m s3://bucket/prefix/name`, or `--target` and a name.
        let encryption = try OffsiteOptions.encryption(opts, writing: false)
        let target = try opts.value("target").map { try OffsiteTarget(url: $0, endpoint: opts.value("endpoint"), encryption: encryption) }
        var objectStore = target?.settings
        var files: [(BackupKind, String)] = []
        for (kind, name) in requested {
            if let url = target.map({ $0.url(name) }) ?? (name.hasPrefix("s3://") ? name : nil) {
                guard let (location, object) = S3Location.object(url) else {
                    throw UsageError(description: "\(url) is not s3://BUCKET/PREFIX/NAME.")
                }
                if objectStore == nil {
                    objectStore = try S3Settings.load(endpoint: opts.value("endpoint"))
                    objectStore?.encryption = encryption
                }
                guard BackupKind(fileName: object) == kind else {
                    Console.line("The rollback file is invalid. Verify the file and try again.")
                    return 1
                }
                guard try S3Client(settings: objectStore!).head(location.bucket, location.key(object)) != nil else {
                    Console.line("The rollback file doesn't exist. Verify the file and try again.")
                    return 1
                }
                files.append((kind, url))
                continue
            }
            let path = name.contains("/") ? name : root.backupsDirectory + "/" + name
            var st = stat()
            guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
                Console.line("The rollback file doesn't exist. Verify the file and try again.")
                return 1
            }
            guard BackupKind(fileName: (path as NSString).lastPathComponent) == kind else {
                Console.line("The rollback file is invalid. Verify the file and try again.")
                return 1
            }
            files.append((kind, URL(fileURLWithPath: path).standardizedFileURL.path))
        }
        var dbConfig: DatabaseConfig?
        if files.contains(where: { $0.0 == .db }) { dbConfig = try DatabaseSettings.load(root: root, options: opts) }

        // Checked before the question: a typo must not cost an answered prompt.
        let jobs = try opts.int("jobs", in: 1...1024) ?? ResourceLimits.current.cores
        let partial = opts.has("only") || opts.has("to")
        if partial {
            if files.contains(where: { $0.0 == .db }) {
                throw UsageError(description: "--only and --to restore files from code and media backups, not a database.")
            }
            if opts.has("in-place") { throw UsageError(description: "--only and --to do not go with --in-place.") }
            if opts.has("to") { return try restoreElsewhere(files, root: root, opts: opts, objectStore: objectStore, jobs: jobs) }
        }
        if opts.has("force") { throw UsageError(description: "--force goes with --to.") }
        // A dump made for a laptop (no customers, no orders) must not replace production's by a slip.
        for (kind, path) in files where kind == .db {
            guard let filter = DumpInput.filterRecord(path, settings: objectStore), filter.leavesOutData else { continue }
            let what = "\((path as NSString).lastPathComponent) was dumped with \(filter.stripped.count) tables' rows left out and \(filter.excluded.count) tables left out whole (\(filter.describedOptions))"
            if opts.has("allow-stripped") {
                Console.line("Restoring \(what), as --allow-stripped says.")
            } else if opts.has("no-interaction") {
                throw StoreError(.refused, "\(what): restoring it replaces the database with one that lacks that data. Give --allow-stripped to restore it anyway.")
            } else if !confirm("\(what): restoring it replaces the database with one that lacks that data. Restore it anyway?[y/N]") {
                return 1
            }
        }
        if !opts.has("no-interaction") && !confirm("You are about to remove current code and/or database tables. Are you sure?[y/N]") {
            return 1
        }
        CommandLimits.rollback(jobs: jobs).printDetails()

        // Held to the end: recovery deletes staging folders, which must be no other run's.
        let runLock = try RunLock(root: root)
        defer { runLock.release() }
        // The trees the swaps replace are deleted once the store is out of maintenance mode
        // (also after a failed later step: the swaps already done stay done).
        let pending = PendingRemovals()
        defer { pending.performAll() }
        return try withMaintenance(root: root, opts: opts) { maintenance in
            try TreeRestore.recover(root: root)
            for (kind, path) in files {
                let name = (path as NSString).lastPathComponent
                Console.line(kind == .db ? "DB rollback is starting..." : "\(kind.title) rollback is starting ...")
                switch kind {
                // `where` binds to each pattern alone: both are written out.
                case .code where partial, .media where partial:
                    let report = try PartialRestore(root: root, kind: kind, archive: path, objectStore: objectStore, jobs: jobs,
                                                    patterns: opts.all("only")).run()
                    Console.line("\(kind.title) rollback filename: \(name)")
                    Console.line("\(kind.title) rollback file path: \(path)")
                    Console.line("Restored \(report.files) files, \(report.symlinks) symlinks and \(report.directories) folders matching --only; nothing else was changed.")
                case .code, .media:
                    if opts.has("in-place") { maintenance.keepOnInterruption("in-place \(kind.rawValue) rollback") }
                    pending.add(try TreeRestore(root: root, kind: kind, archive: path, objectStore: objectStore, jobs: jobs,
                                                inPlace: opts.has("in-place"), keep: files.map(\.1), pendingRemovals: pending).run())
                    Console.line("\(kind.title) rollback filename: \(name)")
                    Console.line("\(kind.title) rollback file path: \(path)")
                case .db:
                    maintenance.keepOnInterruption("DB restore")
                    let marker = DatabaseRestoreMarker(root: root)
                    try marker.begin(dump: path)
                    try DatabaseRestore.run(config: dbConfig!, file: path, threads: jobs, asWritten: opts.has("db-as-written"),
                                            objectStore: objectStore)
                    marker.finish()
                    Console.line("DB rollback filename: \(name)")
                    Console.line("DB rollback path: \(path)")
                }
                Console.success("\(kind.title) rollback completed successfully.")
            }
            return 0
        }
    }

    /// `--to DIR`: each archive (or the paths of it `--only` names) into DIR; the store, its
    /// maintenance mode and its run lock are left alone, so this runs beside a live store.
    private static func restoreElsewhere(_ files: [(BackupKind, String)], root: MagentoRoot, opts: ParsedOptions,
                                         objectStore: S3Settings?, jobs: Int) throws -> Int32 {
        var force = opts.has("force")
        for (kind, path) in files {
            Console.line("\(kind.title) restore into \(opts.value("to")!) is starting ...")
            let report = try PartialRestore(root: root, kind: kind, archive: path, objectStore: objectStore, jobs: jobs,
                                            patterns: opts.all("only"), destination: opts.value("to"), force: force).run()
            // The second archive of the same run writes beside the first.
            force = true
            Console.line("\(kind.title) restore file path: \(path)")
            Console.success("Restored \(report.files) files, \(report.symlinks) symlinks and \(report.directories) folders into \(opts.value("to")!).")
        }
        return 0
    }

    /// Symfony's confirmation: only y or yes (any case) proceeds; no input means no.
    static func confirm(_ question: String) -> Bool {
        emit(STDOUT_FILENO, question + " ")
        guard let answer = readLine() else {
            Console.line("")
            return false
        }
        return ["y", "yes"].contains(answer.trimmingCharacters(in: .whitespaces).lowercased())
    }
}
