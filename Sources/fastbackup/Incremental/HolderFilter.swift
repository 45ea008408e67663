import Foundation

/// Which entries of one archive of a chain a rollback takes: those the newest record says that
/// archive holds. Asked in archive order, which is the record's order (walk order), so it is
/// one pass over the record beside the archive, whatever their sizes. ``finish()`` then
/// throws if the archive lacked an entry the record gives it: a chain that would otherwise
/// restore a tree without that file (and a swap that would then delete the live one).
final class HolderFilter {
    private let reader: RecordReader
    let holder: Int
    let archiveName: String
    private var current: TreeRecord.Line?
    private var currentMatched = false
    private(set) var failure: Error?
    private(set) var matched = 0
    private var missing: PathBytes?
    private var missingCount = 0

    init(record: RecordReader, holder: Int, archiveName: String) {
        reader = record
        self.holder = holder
        self.archiveName = archiveName
        advance()
    }

    /// Whether the entry at `rel` (relative to the tree's base) is this archive's to restore.
    func wants(_ rel: PathBytes) -> Bool {
        while let c = current, WalkOrder.compare(c.path, rel) < 0 { advance() }
        guard let c = current, c.path == rel, c.holder == holder else { return false }
        if !currentMatched { matched += 1 }
        currentMatched = true
        return true
    }

    /// Reads the rest of the record; throws for an unreadable record or a missing entry.
    func finish() throws {
        while current != nil { advance() }
        if let failure { throw failure }
        if let missing {
            throw StoreError(.refused, "\(archiveName) lacks \(missingCount) entries its chain's record says it holds (the first: \(missing.displayString)): the backup is damaged or is not the one the chain was built from.")
        }
    }

    private func advance() {
        if let c = current, c.holder == holder, !currentMatched {
            missingCount += 1
            if missing == nil { missing = c.path }
        }
        currentMatched = false
        do { current = try reader.next() } catch {
            if failure == nil { failure = error }
            current = nil
        }
    }
}
