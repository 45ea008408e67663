import Foundation
import ObjectStore

/// `setup:backup --keep N`: once a backup of a kind is complete, the backups of that kind in
/// the place it was written (var/backups, the `--target` prefix, or both with `--keep-local`)
/// are cut to N: the one just written and the N − 1 newest others. Kinds as the names say them
/// (code, media, db; either codec); other files are never touched.
///
/// The one just written always stays, even when a clock set back gave it an older timestamp
/// than the backups before it. Removal runs only after the new backup exists, so a failed run
/// removes nothing; a removal that fails is reported and makes the run exit 1, as a disk that
/// keeps filling should be noticed. A local backup that a kept incremental builds on stays
/// (and is said to); the chain's bound (`--full-every`) bounds what that keeps.
struct BackupRetention {
    let keep: Int

    /// Of `names` (one place's backups), those to remove after `written` (of `kind`) was made,
    /// oldest first.
    func surplus(_ names: [String], kind: BackupKind, written: String) -> [String] {
        let others = names.filter { $0 != written && BackupKind(fileName: $0) == kind }
        let newestFirst = others.sorted { (Self.timestamp($0), $0) > (Self.timestamp($1), $1) }
        return Array(newestFirst.dropFirst(keep - 1).reversed())
    }

    /// Applies the rule in every place `destination` wrote to. Returns the failures.
    func apply(kind: BackupKind, written name: String, destination: BackupDestination, root: MagentoRoot) -> [String] {
        var failures: [String] = []
        if destination.writesLocalFile {
            let names = (try? ListCommand.list(root, details: false).map(\.file)) ?? []
            let removable = surplus(names, kind: kind, written: name)
            // A backup an incremental that stays builds on stays too: without it that one
            // could not be restored.
            let kept = names.filter { BackupKind(fileName: $0) == kind && !removable.contains($0) }
            let needed = Set(kept.filter { BackupKind.isIncremental(fileName: $0) }.flatMap { kept in
                ((try? RecordReader(archive: root.backupsDirectory + "/" + kept))?.header.links ?? []).map(\.name)
            })
            for old in removable where needed.contains(old) {
                Console.line("Kept the old backup \(root.backupsDirectory + "/" + old) beyond --keep \(keep): a kept incremental backup builds on it.")
            }
            for old in removable where !needed.contains(old) {
                let path = root.backupsDirectory + "/" + old
                if unlink(path) == 0 {
                    Console.line("Removed the old backup \(path) (--keep \(keep)).")
                } else {
                    failures.append("Cannot remove the old backup \(path): \(String(cString: strerror(errno)))")
                }
            }
        }
        if let target = destination.target { failures += apply(kind: kind, written: name, target: target) }
        return failures
    }

    private func apply(kind: BackupKind, written name: String, target: OffsiteTarget) -> [String] {
        do {
            let names = try target.objects(where: { BackupKind(fileName: $0) == kind }).map(\.name)
            let client = try S3Client(settings: target.settings)
            var failures: [String] = []
            for old in surplus(names, kind: kind, written: name) {
                do {
                    try client.delete(target.location.bucket, target.location.key(old))
                    Console.line("Removed the old backup \(target.url(old)) (--keep \(keep)).")
                } catch {
                    failures.append("Cannot remove the old backup \(target.url(old)): \(error)")
                }
            }
            return failures
        } catch {
            return ["Cannot list the backups under \(target.location) to apply --keep \(keep): \(error)"]
        }
    }

    /// The Unix time a backup's name starts with.
    private static func timestamp(_ name: String) -> Int {
        Int(name.prefix { $0 != "_" }) ?? 0
    }
}
