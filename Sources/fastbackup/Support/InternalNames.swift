/// The names of the folders and files fastbackup makes beside or inside a live tree while it
/// restores it, in one place: everything that must treat them as not part of the tree (the
/// walk of a backup, the swap plan, recovery after a crash) asks here.
enum InternalNames {
    /// What every such name starts with.
    static let prefix = ".fastbackup-"

    /// The folder a rollback extracts into: `.fastbackup-staging-<tag>`.
    static func staging(_ tag: String) -> PathBytes { PathBytes(path: prefix + "staging-" + tag) }
    /// The folder the replaced tree is set aside in until it is deleted: `.fastbackup-old-<tag>`.
    static func setAside(_ tag: String) -> PathBytes { PathBytes(path: prefix + "old-" + tag) }
    /// Where an interrupted rollback's staging folder is renamed to before it is removed.
    static func interrupted(_ tag: String) -> PathBytes { PathBytes(path: prefix + "old-" + tag + "-interrupted") }
    /// A file created once to learn what owner and mode new files get in a folder.
    static func probe(pid: Int32) -> PathBytes { PathBytes(path: prefix + "probe-\(pid)") }
    /// A swap's journal file name (kept in a folder no swap replaces).
    static func journal(_ tag: String) -> String { prefix + "rollback-" + tag + ".journal" }

    /// What a leftover found by recovery is.
    enum Leftover { case staging, setAside }

    static func leftover(_ name: String) -> Leftover? {
        if name.hasPrefix(prefix + "staging-") { return .staging }
        if name.hasPrefix(prefix + "old-") { return .setAside }
        return nil
    }

    static func isInternal(_ name: PathBytes) -> Bool { name.starts(with: PathBytes(path: prefix)) }
}
