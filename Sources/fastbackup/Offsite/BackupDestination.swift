/// Where one backup goes: a file in `var/backups`, or an object under `--target`.
enum BackupDestination {
    case file(String)
    case object(OffsiteTarget, name: String)

    /// Opens the output; for an object this begins the upload.
    func open() throws -> BackupOutput {
        switch self {
        case .file(let path): return try AtomicOutputFile(finalPath: path)
        case .object(let target, let name): return try ObjectOutput(target: target, name: name)
        }
    }

    var isLocalFile: Bool {
        if case .file = self { return true }
        return false
    }

    /// The path or URL the command prints.
    var shown: String {
        switch self {
        case .file(let path): return path
        case .object(let target, let name): return target.url(name)
        }
    }
}
