import Foundation

/// The renames that put a staged tree in place of the live one. ``SwapJournal`` writes them
/// down first, so that a rollback killed in the middle of them is finished by the next run.
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

    /// Refuses, before anything is renamed, a swap that rename(2) cannot do: a unit on another
    /// device than `liveBase` (EXDEV), or a mount point at or below a unit (EBUSY, or a mounted
    /// volume carried into the set-aside tree and emptied with it). Throws `SwapRefusedError`.
    func checkRenamable(mounts: MountTable = .current()) throws {
        var base = stat()
        guard liveBase.withCPath({ stat($0, &base) }) == 0 else {
            throw TreeError("Cannot read \(liveBase.displayString): \(String(cString: strerror(errno)))")
        }
        let realBase = TreeSwap.resolved(liveBase)
        for unit in units {
            let live = realBase.appendingComponent(unit.path)
            if let mount = mounts.mounts(atOrBelow: live).first {
                throw SwapRefusedError(reason: .mountPoint, description: "Cannot swap the restored tree in: \(mount.displayString) is a mount point at or inside \(unit.path.displayString), which the swap would rename; a mounted volume cannot be moved (and must not be emptied).")
            }
            for (path, what) in [(liveBase.appendingComponent(unit.path), "live"), (stagingBase.appendingComponent(unit.path), "staged")] {
                var st = stat()
                guard path.withCPath({ lstat($0, &st) }) == 0 else { continue }
                if st.st_dev != base.st_dev {
                    throw SwapRefusedError(reason: .crossDevice, description: "Cannot swap the restored tree in: the \(what) path \(path.displayString) is on another filesystem than \(liveBase.displayString), and a rename cannot cross filesystems.")
                }
            }
        }
    }

    /// The path with symlinks resolved (as mountinfo names it), or as given when it cannot be.
    static func resolved(_ path: PathBytes) -> PathBytes {
        guard let real = path.withCPath({ realpath($0, nil) }) else { return path }
        defer { free(real) }
        return PathBytes(path: String(cString: real))
    }

    /// Performs (or finishes) every rename. With `undoOnFailure`, a rename that fails puts the
    /// ones already done back, newest first, before the error is thrown, so the live tree is as
    /// it was; the error says whether that worked.
    func perform(undoOnFailure: Bool = false) throws {
        // The set-aside folder is private (0700) whatever the umask: no other user may swap a
        // folder in it for a symlink while it is removed.
        _ = oldBase.withCPath { mkdir($0, 0o700) }
        var done: [(from: PathBytes, to: PathBytes)] = []
        do {
            for unit in units {
                let live = liveBase.appendingComponent(unit.path)
                let staged = stagingBase.appendingComponent(unit.path)
                let old = oldBase.appendingComponent(unit.path)
                if unit.staged && !exists(staged) {
                    // Already swapped in, unless the live one is missing too: then the staged
                    // copy went somewhere else, and calling it done would lose the unit.
                    if exists(live) { continue }
                    throw TreeError("Cannot finish the swap of \(unit.path.displayString): neither the staged copy \(staged.displayString) nor the live path \(live.displayString) exists")
                }
                if exists(live) && !exists(old) {
                    try makeDirectories(parentOf: old)
                    try move(live, old)
                    done.append((live, old))
                }
                if unit.staged {
                    try makeDirectories(parentOf: live)
                    try move(staged, live)
                    done.append((staged, live))
                }
            }
        } catch {
            guard undoOnFailure else { throw error }
            var failed: [String] = []
            for step in done.reversed() {
                let err = TreeSwap.rename(step.to, step.from)
                if err != 0 {
                    failed.append("\(step.to.displayString) -> \(step.from.displayString): \(String(cString: strerror(err)))")
                }
            }
            if failed.isEmpty {
                throw SwapUndoneError(description: "\(error) The \(done.count) renames already done were undone; the live tree is as it was.")
            }
            throw TreeError("\(error) Undoing the renames already done failed for: \(failed.joined(separator: "; ")). The set-aside tree is in \(oldBase.displayString) and the restored one in \(stagingBase.displayString).")
        }
    }

    /// Removes the set-aside live tree and what is left of the staging folder.
    func cleanUp(diagnostics: Diagnostics = .standardError) {
        for path in [oldBase, stagingBase] {
            if let err = TreeRemover.remove(path, diagnostics: diagnostics) {
                diagnostics.warning("could not remove \(path.displayString): \(String(cString: strerror(err)))")
            }
        }
    }

    private func exists(_ path: PathBytes) -> Bool {
        var st = stat()
        return path.withCPath { lstat($0, &st) } == 0
    }

    private func move(_ from: PathBytes, _ to: PathBytes) throws {
        let err = TreeSwap.rename(from, to)
        guard err == 0 else {
            throw TreeError("Cannot rename \(from.displayString) to \(to.displayString): \(String(cString: strerror(err)))")
        }
    }

    /// rename(2), returning its errno (0 on success). Moving a folder to another parent
    /// rewrites its `..`, which needs write permission on the folder itself: a store hardened
    /// with `chmod u-w vendor` fails with EACCES when not run as root. The owner may lend
    /// itself that bit for the rename; the folder keeps its mode.
    static func rename(_ from: PathBytes, _ to: PathBytes) -> Int32 {
        if from.withCPath({ f in to.withCPath { Glibc.rename(f, $0) } }) == 0 { return 0 }
        let err = errno
        var st = stat()
        guard err == EACCES, from.withCPath({ lstat($0, &st) }) == 0, (st.st_mode & S_IFMT) == S_IFDIR,
              st.st_uid == geteuid(), st.st_mode & S_IWUSR == 0,
              from.withCPath({ chmod($0, (st.st_mode & 0o7777) | S_IWUSR) }) == 0 else { return err }
        if from.withCPath({ f in to.withCPath { Glibc.rename(f, $0) } }) == 0 {
            _ = to.withCPath { chmod($0, st.st_mode & 0o7777) }
            return 0
        }
        let again = errno
        _ = from.withCPath { chmod($0, st.st_mode & 0o7777) }
        return again
    }

    private func makeDirectories(parentOf path: PathBytes) throws {
        guard let slash = path.lastIndex(of: UInt8(ascii: "/")), slash > 0 else { return }
        let parent = Array(path[..<slash])
        if exists(parent) { return }
        try makeDirectories(parentOf: parent)
        if parent.withCPath({ mkdir($0, 0o755) }) != 0 && errno != EEXIST {
            throw TreeError("Cannot create \(parent.displayString): \(String(cString: strerror(errno)))")
        }
    }
}

/// A swap that rename(2) cannot do, refused before anything was renamed.
struct SwapRefusedError: Error, CustomStringConvertible {
    enum Reason { case mountPoint, crossDevice }
    let reason: Reason
    let description: String
}

/// A swap failed and every rename it had done was put back: the live tree is as it was, and
/// the journal, staging and set-aside folders can go.
struct SwapUndoneError: Error, CustomStringConvertible {
    let description: String
}
