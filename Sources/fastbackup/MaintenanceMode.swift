import Foundation

/// Magento's maintenance flag (`var/.maintenance.flag`): on while work runs, and left as it
/// was found. `var/.maintenance.ip` is never touched.
final class MaintenanceMode {
    private enum State { case untouched, foundEnabled, enabledByUs }
    private let flagPath: String
    private var state = State.untouched

    init(root: MagentoRoot) { flagPath = root.maintenanceFlag }

    func enable() throws {
        if FileManager.default.fileExists(atPath: flagPath) {
            Console.line("Maintenance mode already enabled")
            state = .foundEnabled
            return
        }
        Console.line("Enabling maintenance mode")
        let dir = (flagPath as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let fd = open(flagPath, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            throw CommandError("Cannot enable maintenance mode: \(flagPath): \(String(cString: strerror(errno)))")
        }
        close(fd)
        state = .enabledByUs
        // A signal ends the process without running `disable`; the store must not stay down.
        SignalGuard.shared.addCleanup { [flagPath] in unlink(flagPath) }
    }

    func disable() {
        switch state {
        case .untouched: return
        case .foundEnabled: Console.line("Skipped disabling maintenance mode")
        case .enabledByUs:
            Console.line("Disabling maintenance mode")
            unlink(flagPath)
        }
        state = .untouched
    }
}
