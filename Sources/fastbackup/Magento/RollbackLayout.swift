/// Names a rollback creates beside the live tree, which no backup or rollback may treat as
/// part of the store.
enum RollbackLayout {
    /// Prefix of the staging and set-aside folders (`.fastbackup-staging-<kind>-<pid>`,
    /// `.fastbackup-old-<kind>-<pid>`) a rollback makes in the root, in `pub`, or beside a
    /// symlinked media folder's target. An interrupted rollback can leave one behind until the
    /// next run's recovery removes it, so a code backup must leave these out at the root.
    static let internalPrefix = InternalNames.prefix

    /// Glob patterns (root-relative, `*` not crossing `/`) matching every name a rollback leaves
    /// in the root and in `pub` (a media rollback stages beside `pub/media`): what a code backup
    /// must exclude.
    static let internalNames: [String] = ["\(internalPrefix)*", "pub/\(internalPrefix)*"]
    /// The same inside a media folder that is a volume of its own (the rollback stages there):
    /// what a media backup must exclude at the top of the media tree.
    static let internalMediaNames: [String] = ["\(internalPrefix)*"]

    /// A rollback's swap journal: in `var/` of the root, which no code or media rollback replaces.
    static func journalPath(root: MagentoRoot, kind: BackupKind) -> String {
        root.path + "/var/" + InternalNames.journal(kind.rawValue)
    }
}
