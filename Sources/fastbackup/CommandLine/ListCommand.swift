import DBStream
import Foundation

/// `info:backups:list`: the backups in var/backups with Magento's columns plus size and date.
enum ListCommand {
    static let specs: [OptionSpec] = [
        .value("root", "DIR", "Magento root (default: the current folder)"),
        .flag("json", "Print the list as JSON, for scripts"),
        .value("target", "s3://BUCKET/PREFIX", "List the backups in this object store location"),
        .value("endpoint", "URL", "Object store endpoint (default: AWS_ENDPOINT_URL, or AWS itself)"),
        .flag("help", short: "h", "Display this help message"),
    ]

    struct Row: Encodable {
        let file: String
        let type: String
        let size: Int64
        let created: String
        let path: String
        /// An incremental backup's: the backup it builds on, and its whole chain oldest first
        /// (itself last), as its tree record names them.
        var base: String? = nil
        var chain: [String]? = nil
        /// A dump taken with tables stripped or left out: what its header says.
        var filter: DumpFilterRecord? = nil
    }

    static func run(_ args: [String]) throws -> Int32 {
        let opts = try ParsedOptions.parse(args, specs: specs)
        Console.quiet = opts.has("quiet")
        if opts.has("help") {
            Console.line(Commands.named("info:backups:list").help)
            return 0
        }
        let rows: [Row]
        let place: String
        if let url = opts.value("target") {
            let target = try OffsiteTarget(url: url, endpoint: opts.value("endpoint"))
            rows = try list(target)
            place = target.location.description
        } else {
            let root = try MagentoRoot(opts.value("root"))
            rows = try list(root)
            place = root.backupsDirectory
        }
        if opts.has("json") {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            struct Out: Encodable { let directory: String; let backups: [Row] }
            Console.line(String(decoding: try encoder.encode(Out(directory: place, backups: rows)), as: UTF8.self))
            return 0
        }
        if rows.isEmpty {
            Console.line("No backup files found.")
            return 0
        }
        Console.line("Showing backup files in \(place).")
        if rows.contains(where: { $0.chain != nil }) {
            Console.line(table(header: ["Backup Filename", "Backup Type", "Size", "Created", "Incremental On"],
                               rows: rows.map { [$0.file, shownType($0), formatBytes($0.size), $0.created, $0.base ?? ""] }))
        } else {
            Console.line(table(header: ["Backup Filename", "Backup Type", "Size", "Created"],
                               rows: rows.map { [$0.file, shownType($0), formatBytes($0.size), $0.created] }))
        }
        return 0
    }

    /// `db (stripped)` for a dump that lacks some tables' rows, so nobody takes it for a whole one.
    private static func shownType(_ row: Row) -> String {
        row.filter?.leavesOutData == true ? "\(row.type) (stripped)" : row.type
    }

    /// Backup files sorted by name (the timestamp comes first, so oldest first). `details`: also
    /// read each dump's filter and each incremental's chain (a few reads per file); the names
    /// alone (retention) need neither.
    static func list(_ root: MagentoRoot, details: Bool = true) throws -> [Row] {
        guard FileManager.default.fileExists(atPath: root.backupsDirectory) else { return [] }
        // A folder that exists but cannot be read is an error, not "No backup files found.".
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: root.backupsDirectory)
        } catch {
            throw CommandError("Cannot read \(root.backupsDirectory): \((error as NSError).localizedDescription)")
        }
        let formatter = ISO8601DateFormatter()
        return names.sorted().compactMap { name in
            guard let kind = BackupKind(fileName: name) else { return nil }
            let path = root.backupsDirectory + "/" + name
            var st = stat()
            guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
            let created = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec)))
            var row = Row(file: name, type: kind.rawValue, size: Int64(st.st_size), created: created, path: path)
            guard details else { return row }
            if kind == .db { row.filter = DumpInput.filterRecord(path, settings: nil) }
            if BackupKind.isIncremental(fileName: name) {
                // Its header only: the last member or two of the archive.
                let links = (try? RecordReader(archive: path))?.header.links.map(\.name)
                row.base = links?.last ?? "(unreadable tree record)"
                row.chain = (links ?? []) + [name]
            }
            return row
        }
    }

    /// The backups under `--target`, by name (oldest first); only finished uploads are
    /// objects, so nothing half-written is listed.
    static func list(_ target: OffsiteTarget) throws -> [Row] {
        try target.objects(where: { BackupKind(fileName: $0) != nil }).sorted { $0.name < $1.name }.map { name, object in
            // The store's "2026-12-07T20:45:00.000Z"; the local list's form has no fraction.
            var created = object.lastModified
            if let dot = created.firstIndex(of: "."), created.hasSuffix("Z") { created = String(created[..<dot]) + "Z" }
            return Row(file: name, type: BackupKind(fileName: name)!.rawValue, size: object.size, created: created, path: target.url(name))
        }
    }

    /// A Symfony-console style table, as Magento draws it.
    static func table(header: [String], rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        let rule = "+" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+") + "+"
        func line(_ cells: [String]) -> String {
            "|" + cells.enumerated().map { " " + $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) + " " }.joined(separator: "|") + "|"
        }
        return ([rule, line(header), rule] + rows.map(line) + [rule]).joined(separator: "\n")
    }
}
