import Foundation

/// Decides which root-relative paths a backup leaves out.
///
/// Fixed paths (Magento's list) match whole leading components: `var` leaves out `var/...`
/// but keeps `var2` and `app/var`; `.git` keeps `.github`. User patterns (`--exclude`) are
/// globs: one with a `/` matches the whole relative path (`*` does not cross `/`); one
/// without matches any single name, as GNU tar's `--exclude` does. Folder globs match the
/// names in one given folder only (the tool's own `.fastbackup-*` folders: `.fastbackup-*` at
/// the top, `pub/.fastbackup-*` in pub).
struct ExclusionRules {
    private let fixed: [PathBytes]
    /// (folder, glob for a name in it), from `rootGlobs` split at their last slash.
    private let folderGlobs: [(folder: PathBytes, name: String)]
    private let patterns: [String]

    init(fixed: [String], rootGlobs: [String] = [], patterns: [String]) {
        self.fixed = fixed.map { PathBytes(path: $0) }
        folderGlobs = rootGlobs.map { glob in
            guard let slash = glob.lastIndex(of: "/") else { return ([], glob) }
            return (PathBytes(path: String(glob[..<slash])), String(glob[glob.index(after: slash)...]))
        }
        self.patterns = patterns.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }

    func excludes(_ relative: PathBytes) -> Bool {
        for f in fixed where relative.starts(with: f) {
            if relative.count == f.count || relative[f.count] == UInt8(ascii: "/") { return true }
        }
        if !folderGlobs.isEmpty {
            // Compared as bytes first: this runs for every entry of a tree.
            let slash = relative.lastIndex(of: UInt8(ascii: "/"))
            let folder = slash.map { relative[..<$0] } ?? []
            for g in folderGlobs where folder.elementsEqual(g.folder) {
                let name = PathBytes(slash.map { relative[($0 + 1)...] } ?? relative[...])
                if fnmatch(g.name, name.displayString, 0) == 0 { return true }
            }
        }
        if patterns.isEmpty { return false }
        let path = relative.displayString
        let name = relative.split(separator: UInt8(ascii: "/")).last.map { PathBytes($0).displayString } ?? path
        for p in patterns {
            if p.contains("/") {
                let q = p.hasPrefix("/") ? String(p.dropFirst()) : p
                if fnmatch(q, path, FNM_PATHNAME) == 0 { return true }
            } else if fnmatch(p, name, 0) == 0 {
                return true
            }
        }
        return false
    }
}
