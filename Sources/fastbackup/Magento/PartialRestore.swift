import Foundation
import ObjectStore
import ParallelGzip
import StreamTar

/// `setup:rollback -c|-m FILE --only PATTERN [--to DIR]`: part of a backup back, for the
/// incident that lost one category's images or one config file.
///
/// Entries match when their root-relative path, or a folder above it, matches a pattern (globs
/// as `--exclude` takes them: with a `/` the whole path, `*` not crossing `/`; without, any
/// one name). The whole archive is read and checked, as for a full rollback; only matching
/// entries are written.
///
/// - `--to DIR`: into DIR (root-relative layout, `DIR/pub/media/...`), which must be empty or
///   new (or `--force`) and outside the store; the store is not touched.
/// - without `--to`: into a staging folder in the store, then each restored file or symlink is
///   renamed over its live path, one by one (each is the old or the restored one at any
///   moment). Nothing is deleted: live files the archive does not have stay, and a live
///   folder is never replaced by a file.
struct PartialRestore {
    let root: MagentoRoot
    let kind: BackupKind
    let archive: String
    var objectStore: S3Settings?
    let jobs: Int
    let patterns: [String]
    /// `--to`: a folder outside the store.
    var destination: String?
    var force = false

    struct Report {
        var files = 0, directories = 0, symlinks = 0
        var bytes: Int64 = 0

        init() {}

        /// Hard links count as files: each is a name restored.
        init(_ r: ArchiveExtractor.Report) {
            files = r.files + r.hardLinks
            directories = r.directories
            symlinks = r.symlinks
            bytes = r.bytes
        }
    }

    func run() throws -> Report {
        if let destination {
            let made = !FileManager.default.fileExists(atPath: destination)
            let base = try prepared(destination)
            do {
                return try restore(into: base)
            } catch {
                // A folder this run made holds only what it wrote: nothing is left of a failure.
                if made { _ = TreeRemover.remove(base, diagnostics: .standardError) }
                throw error
            }
        }
        let staging = PathBytes(path: root.path).appendingComponent(InternalNames.staging("partial-\(kind.rawValue)-\(getpid())"))
        guard staging.withCPath({ mkdir($0, 0o700) }) == 0 else {
            throw StoreError.call("Cannot create \(staging.displayString)", "mkdir", path: staging.displayString)
        }
        defer { _ = TreeRemover.remove(staging, diagnostics: .standardError) }
        let report = try restore(into: staging)
        try moveIn(from: staging, to: PathBytes(path: root.path))
        return report
    }

    /// Whether a root-relative path, or a folder above it, matches a pattern (no patterns: all).
    /// The rules are made once by the caller: this runs for every entry of the archive.
    private static func matches(_ path: PathBytes, _ rules: ExclusionRules?) -> Bool {
        guard let rules else { return true }
        var prefix = path[...]
        while true {
            if rules.excludes(PathBytes(prefix)) { return true }
            guard let slash = prefix.lastIndex(of: UInt8(ascii: "/")) else { return false }
            prefix = prefix[..<slash]
        }
    }

    /// An incremental backup: each archive of its chain in turn, oldest first, each giving only
    /// the entries the newest record says it holds (so a file comes from the newest backup
    /// that stored it, and one deleted since is not restored).
    private func restore(into base: PathBytes) throws -> Report {
        guard S3Location.object(archive) == nil, let chain = try BackupChain.resolve(archive), chain.isIncremental else {
            return try restore(from: archive, into: base, holder: nil)
        }
        var report = Report()
        let record = try chain.record ?? RecordReader(archive: chain.paths.last!)
        for (k, path) in chain.paths.enumerated() {
            // One pass over the record per read of the archive: the record is in walk order.
            let filter = { HolderFilter(record: try record.reopened(), holder: k,
                                        archiveName: (path as NSString).lastPathComponent) }
            let part = try restore(from: path, into: base, holder: filter)
            report.files += part.files
            report.directories += part.directories
            report.symlinks += part.symlinks
            report.bytes += part.bytes
        }
        if report.files + report.directories + report.symlinks == 0 {
            throw StoreError(.refused, "--only \(patterns.joined(separator: " --only ")) matched nothing in \(archive) and its chain; nothing was restored")
        }
        return report
    }

    /// Literal paths (no glob characters) of a local fastbackup archive with an index: only the
    /// members around each path are read (``ArchiveIndex``). Otherwise the whole archive.
    /// `holder`: within a chain, the entries this archive gives (others are skipped).
    private func restore(from archive: String, into base: PathBytes, holder: (() throws -> HolderFilter)?) throws -> Report {
        let literal = !patterns.isEmpty && patterns.allSatisfy { !$0.contains(where: { "*?[\\".contains($0) }) }
        var report = Report()
        if literal, S3Location.object(archive) == nil, let (index, members) = ArchiveIndex.read(archive: archive) {
            for pattern in patterns {
                let path = PathBytes(path: pattern.trimmingCharacters(in: CharacterSet(charactersIn: "/")))
                let part = try restore(path, from: archive, into: base, index: index, members: members, holder: holder)
                report.files += part.files
                report.directories += part.directories
                report.symlinks += part.symlinks
                report.bytes += part.bytes
            }
        } else {
            report = Report(try TreeRestore.extract(archive, objectStore: objectStore, jobs: jobs, into: base,
                                                    options: extractorOptions(holder: try holder?())))
        }
        if holder == nil, report.files + report.directories + report.symlinks == 0 {
            throw StoreError(.refused, "--only \(patterns.joined(separator: " --only ")) matched nothing in \(archive); nothing was restored")
        }
        return report
    }

    /// One path's subtree from an indexed archive: from the index's last mark at or before it,
    /// to the first entry past its subtree. The members read are checked as always.
    private func restore(_ path: PathBytes, from archive: String, into base: PathBytes, index: ArchiveIndex,
                         members: [ArchiveIndex.Member], holder: (() throws -> HolderFilter)?) throws -> Report {
        let start = index.start(for: path) ?? 0
        guard let member = members.last(where: { $0.streamOffset <= start }) else { return Report() }
        let fd = open(archive, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.call("Cannot open \(archive)", "open", path: archive) }
        defer { close(fd) }
        let source = try MemberByMemberReader(fd: fd, path: archive, memberAt: member.fileOffset)
        let skip = start - member.streamOffset
        guard try source.skip(skip) == skip else {
            throw StoreError(.refused, "\(archive): its index points past the end of the archive")
        }
        var options = extractorOptions(holder: try holder?())
        let held = options.skip
        options.skip = { rel in !rel.isAtOrBelow(path) || held(rel) }
        options.stop = { rel in ArchiveIndex.isPast(rel, subtreeOf: path) }
        let extracted = try ArchiveExtractor(options: options).extract(from: TarReader(source: source), into: base)
        Console.detail("--only \(path.displayString): \(source.membersRead) members read from byte \(member.fileOffset) (stream offset \(start))")
        return Report(extracted)
    }

    /// The patterns as rules, nil for none (everything matches).
    private var rules: ExclusionRules? { patterns.isEmpty ? nil : ExclusionRules(fixed: [], patterns: patterns) }

    private func extractorOptions(holder: HolderFilter? = nil) -> ArchiveExtractor.Options {
        var options = ArchiveExtractor.Options()
        options.writerThreads = max(2, jobs)
        let rules = self.rules
        // Entries here are root-relative; the record names media paths below pub/media.
        options.skip = { [kind] rel in
            if let holder, let path = TreeRecord.path(ofEntry: rel, kind: kind), !holder.wants(path) { return true }
            return !Self.matches(rel, rules)
        }
        if kind == .code { options.manifestPath = PathBytes(path: BackupManifest.archivePath) }
        return options
    }

    /// `--to DIR`: made if missing; refused inside the store, or holding anything without `--force`.
    private func prepared(_ dir: String) throws -> PathBytes {
        _ = mkdir(dir, 0o755)
        guard let real = realpath(dir, nil) else {
            throw StoreError.call("Cannot create \(dir)", "mkdir", path: dir)
        }
        defer { free(real) }
        let path = PathBytes(path: String(cString: real))
        let store = PathBytes(path: realpath(root.path, nil).map { p in defer { free(p) }; return String(cString: p) } ?? root.path)
        if path.isAtOrBelow(store) {
            throw StoreError(.refused, "--to \(dir) lies inside the store \(store.displayString); give a folder outside it")
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path.displayString)) ?? []
        if !names.isEmpty && !force {
            throw StoreError(.refused, "--to \(dir) is not empty (\(names.count) entries); empty it, or add --force to write into it")
        }
        return path
    }

    /// Renames every staged file and symlink over its live path, making missing folders on the
    /// way; refuses (before any rename) a live folder where a file goes, or a live file or
    /// symlink where a folder is needed.
    private func moveIn(from staging: PathBytes, to live: PathBytes) throws {
        var moves: [PathBytes] = []
        var folders: [(rel: PathBytes, info: stat)] = []
        try collect(staging, rel: [], into: &moves, folders: &folders)
        for rel in moves {
            var st = stat()
            let target = live.appendingComponent(rel)
            if target.withCPath({ lstat($0, &st) }) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
                throw StoreError(.refused, "\(target.displayString) is a folder in the store and a file in the backup; nothing was changed")
            }
            var folder: PathBytes = []
            for part in rel.split(separator: UInt8(ascii: "/")).dropLast() {
                folder = folder.appendingComponent(PathBytes(part))
                let path = live.appendingComponent(folder)
                if path.withCPath({ lstat($0, &st) }) == 0, (st.st_mode & S_IFMT) != S_IFDIR {
                    throw StoreError(.refused, "\(path.displayString) is not a folder in the store; nothing was changed")
                }
            }
        }
        for rel in moves {
            let target = live.appendingComponent(rel)
            var folder: PathBytes = []
            for part in rel.split(separator: UInt8(ascii: "/")).dropLast() {
                folder = folder.appendingComponent(PathBytes(part))
                _ = live.appendingComponent(folder).withCPath { mkdir($0, 0o755) }
            }
            let from = staging.appendingComponent(rel)
            guard from.withCPath({ f in target.withCPath { rename(f, $0) } }) == 0 else {
                throw StoreError.call("Cannot move the restored \(rel.displayString) into place", "rename", path: target.displayString)
            }
        }
        // The renames stamped the live folders they went into; a folder the patterns name gets
        // its mode and times from the backup back (deepest first), as a full rollback gives them.
        // Their stat was taken before the renames, which stamp the staged folders too.
        let rules = self.rules
        for (rel, st) in folders.reversed() where Self.matches(rel, rules) {
            let target = live.appendingComponent(rel)
            _ = target.withCPath { chmod($0, st.st_mode & 0o7777) }
            var times = [st.st_atim, st.st_mtim]
            _ = target.withCPath { utimensat(AT_FDCWD, $0, &times, AT_SYMLINK_NOFOLLOW) }
        }
    }

    /// Files and symlinks into `out`, folders (parents first) into `folders`.
    private func collect(_ base: PathBytes, rel: PathBytes, into out: inout [PathBytes], folders: inout [(rel: PathBytes, info: stat)]) throws {
        let folder = rel.isEmpty ? base : base.appendingComponent(rel)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.displayString).sorted()
        for name in names {
            let child = rel.isEmpty ? PathBytes(path: name) : rel.appendingComponent(PathBytes(path: name))
            var st = stat()
            guard base.appendingComponent(child).withCPath({ lstat($0, &st) }) == 0 else { continue }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                folders.append((child, st))
                try collect(base, rel: child, into: &out, folders: &folders)
            } else {
                out.append(child)
            }
        }
    }
}

extension MemberByMemberReader: TarByteSource {}
