import Foundation

/// The renames that put a staged tree in place of the live one, written to a journal first so
/// that a rollback killed in the middle of them can be finished by the next run.
///
/// Each unit is a path relative to `liveBase`. With a staged copy, the live one (if any) is
/// renamed into `oldBase` and the staged one into place; without, the live one is moved aside.
/// Every step checks what is already done, so running the plan again finishes it.
struct TreeSwap: Codable {
    struct Unit: Codable {
        let path: PathBytes
        let staged: Bool
    }

    let kind: String
    let liveBase: PathBytes
    let stagingBase: PathBytes
    let oldBase: PathBytes
    var units: [Unit]

    /// Journals live in `var/` of the root, which no code or media rollback replaces.
    static func journalPath(root: MagentoRoot, kind: BackupKind) -> String {
        root.path + "/var/.fastbackup-rollback-\(kind.rawValue).journal"
    }

    func writeJournal(to path: String) throws {
        let data = try JSONEncoder().encode(self)
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = path + ".tmp"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CommandError("Cannot write the rollback journal \(tmp): \(String(cString: strerror(errno)))") }
        let ok = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) == $0.count } && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            throw CommandError("Cannot write the rollback journal \(path): \(String(cString: strerror(errno)))")
        }
        let dfd = open(dir, O_RDONLY | O_DIRECTORY)
        if dfd >= 0 { fsync(dfd); close(dfd) }
    }

    static func readJournal(_ path: String) throws -> TreeSwap {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONDecoder().decode(TreeSwap.self, from: data)
    }

    /// Performs (or finishes) every rename.
    func perform() throws {
        for unit in units {
            let live = liveBase.appendingComponent(unit.path)
            let staged = stagingBase.appendingComponent(unit.path)
            let old = oldBase.appendingComponent(unit.path)
            let stagedThere = exists(staged)
            if unit.staged && !stagedThere { continue } // already swapped in
            if exists(live) && !exists(old) {
                try makeDirectories(parentOf: old)
                try move(live, old)
            }
            if unit.staged {
                try makeDirectories(parentOf: live)
                try move(staged, live)
            }
        }
    }

    /// Removes the set-aside live tree and what is left of the staging folder.
    func cleanUp() {
        for path in [oldBase, stagingBase] {
            if let err = TreeRemover.remove(path) {
                Console.warning("could not remove \(path.displayString): \(String(cString: strerror(err)))")
            }
        }
    }

    private func exists(_ path: PathBytes) -> Bool {
        var st = stat()
        return path.withCPath { lstat($0, &st) } == 0
    }

    private func move(_ from: PathBytes, _ to: PathBytes) throws {
        guard from.withCPath({ f in to.withCPath { rename(f, $0) } }) == 0 else {
            throw CommandError("Cannot rename \(from.displayString) to \(to.displayString): \(String(cString: strerror(errno)))")
        }
    }

    private func makeDirectories(parentOf path: PathBytes) throws {
        guard let slash = path.lastIndex(of: UInt8(ascii: "/")), slash > 0 else { return }
        let parent = Array(path[..<slash])
        if exists(parent) { return }
        try makeDirectories(parentOf: parent)
        if parent.withCPath({ mkdir($0, 0o755) }) != 0 && errno != EEXIST {
            throw CommandError("Cannot create \(parent.displayString): \(String(cString: strerror(errno)))")
        }
    }
}
