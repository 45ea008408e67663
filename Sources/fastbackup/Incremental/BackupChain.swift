import Foundation

/// Incremental backups and the chains they form: which backup the next one builds on, and
/// whether every link a backup needs is still there and still the same backup.
///
/// A chain lives in one folder (var/backups): links are found by name beside the backup that
/// names them, and each must carry the tree record whose SHA-256 the later backup wrote down,
/// so a link deleted, or replaced by another backup of the same name, is found before anything
/// is read or staged.
enum BackupChain {
    /// A chain with a bound: the most backups (the full one included) one chain holds.
    static let defaultFullEvery = 7

    /// The chain's archives, oldest (the full backup) first, the given one last.
    struct Resolved {
        let paths: [String]
        let header: TreeRecord.Header
        /// The newest archive's record, when resolving opened it (``RecordReader/reopened()``
        /// reads it again without reading the archive's members again).
        var record: RecordReader? = nil
        var isIncremental: Bool { paths.count > 1 }
    }

    /// Checks that every link `header` names sits beside `archive` with the record hash it
    /// names; returns the paths, `archive` last. Throws a StoreError naming the first bad link.
    static func resolve(_ archive: String, header: TreeRecord.Header) throws -> Resolved {
        let dir = (archive as NSString).deletingLastPathComponent
        var paths: [String] = []
        for (i, link) in header.links.enumerated() {
            let path = (dir.isEmpty ? "" : dir + "/") + link.name
            let role = i == 0 ? "its full backup" : "link \(i) of its chain"
            guard access(path, F_OK) == 0 else {
                throw StoreError(.refused, "\(header.name) is an incremental backup, and \(role), \(link.name), is missing from \(dir.isEmpty ? "." : dir): it cannot be restored or verified without it.")
            }
            guard let found = ArchiveIndex.read(archive: path)?.index.record else {
                throw StoreError(.refused, "\(header.name) is an incremental backup, and \(role), \(link.name), has no readable tree record: it was replaced or damaged.")
            }
            guard found.sha256 == link.sha256 else {
                throw StoreError(.refused, "\(header.name) is an incremental backup, and \(role), \(link.name), is not the backup it was built on (its tree record's SHA-256 is \(found.sha256.prefix(16))..., the chain expects \(link.sha256.prefix(16))...): it was replaced or damaged.")
            }
            paths.append(path)
        }
        return Resolved(paths: paths + [archive], header: header)
    }

    /// The archive's chain; nil when it has no record (another tool's, an older one), which
    /// an incremental backup must have: without it, it holds only part of a tree.
    static func resolve(_ archive: String) throws -> Resolved? {
        do {
            let reader = try RecordReader(archive: archive)
            var resolved = try resolve(archive, header: reader.header)
            resolved.record = reader
            return resolved
        } catch let error as RecordError where error.kind == .absent {
            if BackupKind.isIncremental(fileName: (archive as NSString).lastPathComponent) {
                throw StoreError(.refused, "\(archive) is named as an incremental backup but \(error.reason): it holds only the files changed since an unknown backup, and cannot be restored as a whole tree.")
            }
            return nil
        }
    }

    /// The newest tree backup of `kind` in `dir` (an incremental sorts after a full backup of
    /// the same second, which it may build on).
    static func newest(_ kind: BackupKind, in dir: String) -> String? {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return nil }
        let ours = names.filter { BackupKind(fileName: $0) == kind && BackupKind.timestamp(fileName: $0) != nil }
        return ours.max { a, b in
            (BackupKind.timestamp(fileName: a)!, BackupKind.isIncremental(fileName: a) ? 1 : 0, a)
                < (BackupKind.timestamp(fileName: b)!, BackupKind.isIncremental(fileName: b) ? 1 : 0, b)
        }.map { dir + "/" + $0 }
    }

    /// The backup an incremental backup of `kind` builds on, opened at its first entry line;
    /// nil, with the reason, when a full backup must be taken instead.
    static func base(for kind: BackupKind, in dir: String, fullEvery: Int) -> (RecordReader?, String) {
        guard let newest = newest(kind, in: dir) else { return (nil, "no earlier \(kind.rawValue) backup in \(dir)") }
        let name = (newest as NSString).lastPathComponent
        do {
            let check = try RecordReader(archive: newest)
            guard check.header.kind == kind else { return (nil, "\(name) records a \(check.header.kind.rawValue) tree") }
            if check.header.links.count + 1 >= fullEvery {
                return (nil, "the chain ending at \(name) already holds \(check.header.links.count + 1) backups (--full-every \(fullEvery))")
            }
            _ = try resolve(newest, header: check.header)
            // Not read through first: that was a twelfth of an incremental's time. A record
            // found damaged during the backup makes the caller start a full one instead.
            return (check, name)
        } catch {
            return (nil, "\(name) cannot be built on: \(error)")
        }
    }
}

/// The merge of the walk with the base backup's record, both in walk order: a file whose
/// size, times and inode are as recorded is held by the same backup as before.
final class ChangeDetector {
    private let reader: RecordReader
    private var current: TreeRecord.Line?
    private(set) var failure: Error?
    private(set) var unchangedFiles = 0
    private(set) var unchangedBytes: Int64 = 0

    init(base: RecordReader) {
        reader = base
        advance()
    }

    /// Reads the rest of the base's record, so its hash is checked even when the walk ended
    /// first; throws the record's damage.
    func finish() throws {
        while current != nil { advance() }
        if let failure { throw failure }
    }

    /// Called in walk order.
    func holder(_ rel: PathBytes, _ st: stat) -> Int? {
        while let c = current, WalkOrder.compare(c.path, rel) < 0 { advance() }
        guard let c = current, c.path == rel, c.unchanged(st) else { return nil }
        unchangedFiles += 1
        unchangedBytes += c.size
        return c.holder
    }

    private func advance() {
        do { current = try reader.next() } catch {
            failure = error
            current = nil
        }
    }
}
