import Foundation

/// What a filtered dump says about itself in its header, so that nobody restores a dump
/// without its customers or orders over production by mistake: two lines for people and one
/// for tools, e.g.
///
///     -- Stripped (structure only, no rows): 12 tables: `log_url`, `session`, ...
///     -- Excluded (not in this dump): 0 tables
///     -- fastbackup-filter: {"exclude":[],"excluded":[],"include":[],"strip":["@stripped"],"stripped":["log_url",...]}
///
/// `info:backups:list --json` shows it; `setup:rollback -d` asks once more before restoring it.
public struct DumpFilterRecord: Codable, Equatable, Sendable {
    /// The options as given (tokens, groups unexpanded).
    public var strip: [String]
    public var include: [String]
    public var exclude: [String]
    /// What they came to on the dumped database (real table names).
    public var stripped: [String]
    public var excluded: [String]

    public static let marker = "-- fastbackup-filter: "

    /// nil for an unfiltered dump.
    public init?(_ selection: TableSelection, _ resolved: TableSelection.Resolved) {
        guard !selection.isEmpty else { return nil }
        strip = selection.strip
        include = selection.include
        exclude = selection.exclude
        stripped = resolved.stripped.sorted()
        excluded = resolved.excluded.sorted()
    }

    var headerLines: String {
        func names(_ list: [String]) -> String {
            let shown = list.prefix(20).map { SQLDumper.commentText(MySQLConnection.quoteIdentifier($0)) }.joined(separator: ", ")
            return "\(list.count) tables" + (list.isEmpty ? "" : ": " + shown + (list.count > 20 ? ", ..." : ""))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings and arrays of strings always encode; the JSON holds no newline.
        let json = String(decoding: try! encoder.encode(self), as: UTF8.self)
        return "-- Stripped (structure only, no rows): \(names(stripped))\n-- Excluded (not in this dump): \(names(excluded))\n\(Self.marker)\(json)"
    }

    /// The record in the first bytes of a dump, nil when there is none (an unfiltered dump,
    /// another tool's).
    public static func find(inHead head: [UInt8]) -> DumpFilterRecord? {
        let text = String(decoding: head, as: UTF8.self)
        for line in text.split(separator: "\n", omittingEmptySubsequences: true).prefix(50) where line.hasPrefix(marker) {
            return try? JSONDecoder().decode(DumpFilterRecord.self, from: Data(line.dropFirst(marker.count).utf8))
        }
        return nil
    }

    /// Whether rows of some table are not in the dump.
    public var leavesOutData: Bool { !stripped.isEmpty || !excluded.isEmpty }
}

extension DumpFilterRecord {
    /// The options as they were given, for messages: `--strip '@development' --exclude-tables 'x'`.
    public var describedOptions: String {
        var parts: [String] = []
        if !strip.isEmpty { parts.append("--strip '\(strip.joined(separator: " "))'") }
        if !include.isEmpty { parts.append("--include-tables '\(include.joined(separator: " "))'") }
        if !exclude.isEmpty { parts.append("--exclude-tables '\(exclude.joined(separator: " "))'") }
        return parts.joined(separator: " ")
    }
}
