import Foundation
import SystemCalls

/// The lock that keeps two fastbackup runs on one root apart: `flock(LOCK_EX | LOCK_NB)` on
/// `<root>/var/.fastbackup.lock`, held from set-up to exit. Without it a second rollback's
/// recovery would delete the first one's staging folder, and two runs would fight over the
/// maintenance flag. The kernel drops the lock when the process ends, however it ends, so a
/// killed run never leaves a stale lock behind (the file itself stays; it is empty).
final class RunLock {
    /// The lock file.
    let path: String
    private var fd: Int32

    /// Takes the lock, creating `var/` and the file when needed.
    /// Throws `CommandError` when another run holds it (exit 1) or the file cannot be opened.
    init(root: MagentoRoot) throws {
        let dir = root.path + "/var"
        path = dir + "/.fastbackup.lock"
        if mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw CommandError("Cannot create \(dir) for the run lock: \(String(cString: strerror(errno)))")
        }
        // Read-only and 0644: flock needs no write access, and another account running the tool
        // on the same store (its owner after root, say) must be able to open it.
        fd = open(path, O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CommandError("Cannot open the run lock \(path): \(String(cString: strerror(errno)))")
        }
        do { _ = try retryingInterrupts { flock(fd, LOCK_EX | LOCK_NB) } }
        catch {
            let err = error.rawValue
            close(fd)
            fd = -1
            if err == EWOULDBLOCK {
                throw CommandError("Another fastbackup run holds \(path); try again when it has finished.")
            }
            throw CommandError("Cannot lock \(path): \(String(cString: strerror(err)))")
        }
    }

    /// Releases the lock now (it is also released when the object goes or the process ends).
    func release() {
        if fd >= 0 { close(fd); fd = -1 }
    }

    deinit { release() }
}
