import Foundation
import SystemCalls

/// Magento's maintenance flag (`var/.maintenance.flag`): on while work runs, and left as it
/// was found. `var/.maintenance.ip` is never touched.
///
/// The flag this tool creates holds `fastbackup <pid>`. A run killed with SIGKILL cannot remove
/// it, so a later run that finds such a flag whose process is gone takes it over and removes
/// it at its end. Any other flag (empty, as Magento writes it, or of a live run) is left alone.
final class MaintenanceMode {
    private enum State { case untouched, foundEnabled, enabledByUs }
    private let flagPath: String
    private let restoreMarker: DatabaseRestoreMarker
    private var state = State.untouched
    /// The signal clean-up that removes our flag; dropped when the flag goes, so a signal
    /// later in the run cannot remove a flag someone else has set since.
    private var cleanupToken: Int?

    init(root: MagentoRoot) {
        flagPath = root.maintenanceFlag
        restoreMarker = DatabaseRestoreMarker(root: root)
    }

    /// The flag's content for this process.
    static var marker: String { "fastbackup \(getpid())\n" }

    /// The pid in a flag written by this tool, or nil for any other content.
    static func markerPID(_ content: String) -> pid_t? {
        let parts = content.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard parts.count == 2, parts[0] == "fastbackup", let pid = pid_t(parts[1]), pid > 0 else { return nil }
        return pid
    }

    /// Whether a process with this pid exists (EPERM: it exists, owned by someone else).
    private static func isRunning(_ pid: pid_t) -> Bool {
        if pid == getpid() { return false } // a pid reused by us: the flag's writer is gone
        return kill(pid, 0) == 0 || errno == EPERM
    }

    /// Turns maintenance mode on, or notes that it already was. Throws when the flag cannot be written.
    func enable() throws {
        if FileManager.default.fileExists(atPath: flagPath) {
            let content = (try? String(contentsOfFile: flagPath, encoding: .utf8)) ?? ""
            if let pid = Self.markerPID(content), !Self.isRunning(pid) {
                Console.line("Maintenance mode was left on by an interrupted fastbackup run (pid \(pid)); it will be turned off at the end.")
                try writeFlag(replacing: true)
                return
            }
            Console.line("Maintenance mode already enabled")
            state = .foundEnabled
            return
        }
        Console.line("Enabling maintenance mode")
        try writeFlag(replacing: false)
    }

    /// Writes our marker into a temporary file first, then links it into place (a new flag:
    /// link(2) fails if one appeared meanwhile) or renames it over a stale one (the flag never
    /// disappears in between, so the store stays down). Never an empty flag: a run killed between
    /// creating the flag and writing its marker left one, which reads as Magento's own and stayed.
    private func writeFlag(replacing: Bool) throws {
        let dir = (flagPath as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        removeStaleTemporaries(in: dir)
        let path = "\(flagPath).\(getpid()).tmp"
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw StoreError.call("Cannot enable maintenance mode: \(path)", "open", path: path)
        }
        let bytes = Array(Self.marker.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let err = errno
        close(fd)
        if written != bytes.count {
            unlink(path)
            throw StoreError.call("Cannot enable maintenance mode: \(path)", "write", path: path, errno: Errno(written < 0 ? err : ENOSPC))
        }
        if replacing, rename(path, flagPath) != 0 {
            let err = errno
            unlink(path)
            throw StoreError.call("Cannot take over maintenance mode: \(flagPath)", "rename", path: flagPath, errno: Errno(err))
        }
        if !replacing {
            let linked = link(path, flagPath) == 0
            let err = errno
            unlink(path)
            if !linked { throw StoreError.call("Cannot enable maintenance mode: \(flagPath)", "link", path: flagPath, errno: Errno(err)) }
        }
        state = .enabledByUs
        // A signal ends the process without running `disable`; the store must not stay down.
        cleanupToken = SignalGuard.shared.addCleanup { [flagPath] in unlink(flagPath) }
    }

    /// Temporary flags (`.maintenance.flag.<pid>.tmp`) of runs that were killed before linking them.
    private func removeStaleTemporaries(in dir: String) {
        let prefix = (flagPath as NSString).lastPathComponent + "."
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix(prefix) && name.hasSuffix(".tmp") {
            guard let pid = pid_t(name.dropFirst(prefix.count).dropLast(4)), pid != getpid(), !Self.isRunning(pid) else { continue }
            unlink(dir + "/" + name)
        }
    }

    /// From here on a signal leaves maintenance mode on: work that changes the live store in
    /// place (an `--in-place` extraction, a DB restore) would otherwise bring the store back
    /// up half-restored. The flag still goes at the normal end, or after an error.
    func keepOnInterruption(_ what: String) {
        guard let token = cleanupToken else { return }
        SignalGuard.shared.removeCleanup(token)
        cleanupToken = SignalGuard.shared.addCleanup {
            Console.error("fastbackup: maintenance mode left on: the \(what) was interrupted midway; run the rollback again")
        }
    }

    /// Turns maintenance mode off if this run turned it on (or took it over).
    func disable() {
        switch state {
        case .untouched: return
        case .foundEnabled: Console.line("Skipped disabling maintenance mode")
        case .enabledByUs:
            if let dump = restoreMarker.unfinishedDump {
                // A partly restored database must not go back on line.
                Console.error("Maintenance mode stays on: " + DatabaseRestoreMarker.advice(dump))
                if let token = cleanupToken { SignalGuard.shared.removeCleanup(token) }
                cleanupToken = nil
                state = .untouched
                return
            }
            Console.line("Disabling maintenance mode")
            if let token = cleanupToken { SignalGuard.shared.removeCleanup(token) }
            cleanupToken = nil
            unlink(flagPath)
        }
        state = .untouched
    }
}

/// Runs `body` with maintenance mode on (unless `--no-maintenance` is in `opts`), in Magento's
/// order: an error from `body` is printed first, then maintenance mode is turned off, and the
/// command exits 1. Returns `body`'s status otherwise. Throws only when maintenance mode
/// cannot be turned on (nothing has run then).
func withMaintenance(root: MagentoRoot, opts: ParsedOptions, _ body: (MaintenanceMode) throws -> Int32) throws -> Int32 {
    let maintenance = MaintenanceMode(root: root)
    if !opts.has("no-maintenance") { try maintenance.enable() }
    let status: Int32
    do {
        status = try body(maintenance)
    } catch {
        printCommandError(error)
        maintenance.disable()
        return 1
    }
    maintenance.disable()
    return status
}
