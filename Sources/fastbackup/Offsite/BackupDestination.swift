/// Where one backup goes: a file in `var/backups`, or an object under `--target`.
enum BackupDestination {
    case file(String)
    case object(OffsiteTarget, name: String)
    /// `--keep-local`: the object and a file in `var/backups`, from one stream.
    case objectAndFile(OffsiteTarget, name: String, file: String)

    /// Opens the output; for an object this begins the upload.
    func open() throws -> BackupOutput {
        switch self {
        case .file(let path): return try AtomicOutputFile(finalPath: path)
        case .object(let target, let name): return try ObjectOutput(target: target, name: name)
        case .objectAndFile(let target, let name, let path):
            let local = try AtomicOutputFile(finalPath: path)
            let remote: ObjectOutput
            do { remote = try ObjectOutput(target: target, name: name) } catch { local.abandon(); throw error }
            return try TeeOutput(local: local, remote: remote)
        }
    }

    /// A file is written in `var/backups` (alone or beside an object): its disk's free space
    /// matters.
    var writesLocalFile: Bool {
        switch self {
        case .file, .objectAndFile: return true
        case .object: return false
        }
    }

    /// The path or URL the command prints.
    var shown: String {
        switch self {
        case .file(let path): return path
        case .object(let target, let name), .objectAndFile(let target, let name, _): return target.url(name)
        }
    }

    /// The object store location written to, if any.
    var target: OffsiteTarget? {
        switch self {
        case .file: return nil
        case .object(let target, _), .objectAndFile(let target, _, _): return target
        }
    }

    /// The local copy kept beside an object (`--keep-local`).
    var localCopy: String? {
        if case .objectAndFile(_, _, let path) = self { return path }
        return nil
    }
}
