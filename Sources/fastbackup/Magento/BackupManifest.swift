import Foundation

/// What a code backup records about itself, stored as the archive's first entry
/// (`var/.fastbackup/backup.json`), e.g.
/// `{"kind":"code","exclude":["exports"],"created":"2026-11-27T00:40:00Z"}`.
///
/// A rollback reads `exclude` to leave alone the live paths the backup left out: without it a
/// path missing from the archive looks deleted and would be removed. `var` is never part of a
/// code tree, so `tar -xzf` of the archive only drops this small file into `var/.fastbackup/`.
struct BackupManifest: Codable, Equatable {
    /// The archive entry name the manifest is stored under.
    static let archivePath = "var/.fastbackup/backup.json"
    /// The largest manifest `parse` accepts; a larger entry is not one of ours.
    static let maximumSize = 1 << 20

    /// `code` (the only kind that carries a manifest so far); a string in the JSON.
    var kind: BackupKind
    /// The `--exclude` patterns, as given on the command line.
    var exclude: [String]
    /// When the backup started, ISO 8601 in UTC.
    var created: String

    init(kind: BackupKind, exclude: [String], created: Date = Date()) {
        self.kind = kind
        self.exclude = exclude
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        self.created = f.string(from: created)
    }

    /// The manifest as compact JSON with sorted keys (stable bytes for the same content).
    func encoded() -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding strings and arrays of strings cannot fail.
        return Array(try! encoder.encode(self)) + [UInt8(ascii: "\n")]
    }

    /// Reads a manifest entry's body. Throws a CommandError naming the entry when it is larger
    /// than `maximumSize` or not a manifest (missing fields, not JSON).
    static func parse(_ bytes: [UInt8]) throws -> BackupManifest {
        guard bytes.count <= maximumSize else {
            throw StoreError(.refused, "\(archivePath) in the archive is \(bytes.count) bytes; a backup manifest is at most \(maximumSize)")
        }
        do {
            return try JSONDecoder().decode(BackupManifest.self, from: Data(bytes))
        } catch {
            throw StoreError(.refused, "\(archivePath) in the archive is not a readable backup manifest: \(error)")
        }
    }
}
