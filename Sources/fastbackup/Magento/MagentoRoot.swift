import Foundation
import ParallelGzip

/// The layout of a Magento root as far as backups are concerned.
struct MagentoRoot {
    /// Absolute, without a trailing slash.
    let path: String

    init(_ path: String?) throws {
        // An empty --root (an unset variable in a cron line) must not mean the current folder.
        if let path, path.isEmpty { throw StoreError(.refused, "--root is empty; give the Magento root folder.") }
        let given = path ?? FileManager.default.currentDirectoryPath
        let absolute = given.hasPrefix("/") ? given : FileManager.default.currentDirectoryPath + "/" + given
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: absolute, isDirectory: &isDir), isDir.boolValue else {
            throw StoreError(.refused, "The Magento root '\(absolute)' is not a directory.")
        }
        self.path = URL(fileURLWithPath: absolute).standardizedFileURL.path
    }

    var backupsDirectory: String { path + "/var/backups" }
    var maintenanceFlag: String { path + "/var/.maintenance.flag" }
    var envPHP: String { path + "/app/etc/env.php" }
    var media: String { path + "/pub/media" }

    /// Paths left out of a code backup and untouched by a code rollback, matched as whole
    /// path components relative to the root (Magento matches substrings of the absolute
    /// path, which wrongly drops `.github` and `var2`).
    static let codeExclusions: [String] = [
        "pub/media", "pub/static", "var", "update", "node_modules", ".grunt", ".idea", ".svn", ".git",
    ]
}

/// What a backup file holds, told by its name.
enum BackupKind: String, CaseIterable, Codable {
    case code, media, db

    /// The name Magento 2.4 writes for this kind and timestamp.
    /// `dumpCodec`: a compressed dump (`_db.sql.gz`, `_db.sql.zst`); nil for Magento's plain `.sql`.
    /// `incremental`: a tree backup that holds only what changed since the one it builds on
    /// (`<ts>_filesystem_media.incr.tgz`; see TreeRecord).
    func fileName(timestamp: Int, codec: CompressionCodec = .gzip, dumpCodec: CompressionCodec? = nil, incremental: Bool = false) -> String {
        var ext: String
        switch codec {
        case .gzip: ext = "tgz"
        case .zstd: ext = "tar.zst"
        }
        if incremental { ext = "incr." + ext }
        switch self {
        case .code: return "\(timestamp)_filesystem_code.\(ext)"
        case .media: return "\(timestamp)_filesystem_media.\(ext)"
        case .db:
            switch dumpCodec {
            case nil: return "\(timestamp)_db.sql"
            case .gzip?: return "\(timestamp)_db.sql.gz"
            case .zstd?: return "\(timestamp)_db.sql.zst"
            }
        }
    }

    /// Works the kind out of a file name: `<ts>_filesystem_code.tgz`, `<ts>_filesystem_media.tgz`,
    /// the older `<ts>_filesystem.tgz` (code), their `.tar.zst` forms, and `<ts>_db*.sql`.
    init?(fileName: String) {
        let parts = fileName.split(separator: "_", maxSplits: 1)
        // ASCII digits only, as Magento's pattern has them (`½` and `١٢` are numbers to Unicode).
        guard parts.count == 2, !parts[0].isEmpty, parts[0].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        let rest = String(parts[1])
        for ext in [".tgz", ".tar.zst"] where rest.hasSuffix(ext) {
            var stem = rest.dropLast(ext.count)
            if stem.hasSuffix(".incr") { stem = stem.dropLast(5) }
            switch stem {
            case "filesystem_code", "filesystem": self = .code; return
            case "filesystem_media": self = .media; return
            default: return nil
            }
        }
        if rest.hasPrefix("db"), rest.hasSuffix(".sql") || rest.hasSuffix(".sql.gz") || rest.hasSuffix(".sql.zst") { self = .db; return }
        return nil
    }

    /// Whether `fileName` names an incremental tree backup (`.incr.tgz`).
    static func isIncremental(fileName: String) -> Bool {
        fileName.hasSuffix(".incr.tgz") || fileName.hasSuffix(".incr.tar.zst")
    }

    /// The timestamp a backup's file name starts with.
    static func timestamp(fileName: String) -> Int? {
        fileName.split(separator: "_", maxSplits: 1).first.flatMap { Int($0) }
    }

    /// The word Magento's console uses for this kind.
    var title: String {
        switch self {
        case .code: return "Code"
        case .media: return "Media"
        case .db: return "DB"
        }
    }
}
