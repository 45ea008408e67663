import SystemCalls
import Foundation

/// `var/.fastbackup-db-restore`: written before a DB restore starts changing tables, removed
/// when it has finished. While it is there the database is partly restored, so maintenance mode
/// stays on (whichever run would otherwise turn it off: a failed restore's own, or the next
/// cron backup that takes over the flag a SIGKILLed restore left) and `setup:backup --db`
/// refuses to dump it. A restore of the same or another dump that completes removes it.
struct DatabaseRestoreMarker {
    let path: String

    init(root: MagentoRoot) { path = root.path + "/var/.fastbackup-db-restore" }

    /// The dump the interrupted restore was reading, or nil when no restore is unfinished.
    var unfinishedDump: String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first { $0.hasPrefix("file ") }.map { String($0.dropFirst(5)) } ?? "an unknown dump"
    }

    /// Written through a temporary file, so a kill never leaves a marker without its dump's name.
    func begin(dump: String) throws {
        let tmp = "\(path).\(getpid()).tmp"
        do {
            try "pid \(getpid())\nfile \(dump)\n".write(toFile: tmp, atomically: false, encoding: .utf8)
        } catch {
            throw StoreError.call("Cannot record the database restore in \(path)", "write", path: tmp)
        }
        guard rename(tmp, path) == 0 else {
            let err = errno
            unlink(tmp)
            throw StoreError.call("Cannot record the database restore in \(path)", "rename", path: path, errno: Errno(err))
        }
    }

    func finish() { unlink(path) }

    /// The sentence that says what to do.
    static func advice(_ dump: String) -> String {
        "the database restore from \(dump) did not finish, so the database is partly restored; run `setup:rollback -d \((dump as NSString).lastPathComponent)` again (or remove var/.fastbackup-db-restore once the database is right)"
    }
}
