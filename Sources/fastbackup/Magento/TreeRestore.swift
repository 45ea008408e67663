import Foundation
import ThreadKit
import ObjectStore
import ParallelGzip
import StreamTar

extension ParallelDecompressor: TarByteSource {}

/// A code or media rollback: extract into a staging folder on the same filesystem, check the
/// whole archive, then swap the staged tree in with renames and delete the old one. Until the
/// swap, the live tree is not touched; a failure removes the staging folder and nothing else.
struct TreeRestore {
    let root: MagentoRoot
    let kind: BackupKind
    /// A path, or `s3://bucket/key` read with `objectStore`'s settings.
    let archive: String
    var objectStore: S3Settings? = nil
    let jobs: Int
    let inPlace: Bool
    /// Files inside the root that the rollback must not touch: the archives given on the
    /// command line. A code swap leaves them, and the folders that hold them, in place.
    var keep: [String] = []
    /// Removals of trees replaced by earlier steps of the same run, not done yet; done first
    /// when this step finds too little free space to stage.
    var pendingRemovals: PendingRemovals? = nil

    /// Where a staged restore puts things, decided before a byte is extracted.
    private struct StagingPlan {
        /// The folder that holds the live tree, and the tree's name in it (nil: swap the
        /// folder's children, as for code or a media volume's mount point).
        var liveBase: PathBytes
        var unit: PathBytes?
        var childSwap = false
        var staging: PathBytes = []
        var old: PathBytes = []
        /// The staging folder and the renames stamp the folder that holds the tree; it gets
        /// its own mtime back at the end, so a rollback leaves no trace outside what it restores.
        var baseTime: timespec?
        var size = ArchiveSize(bytes: 0, exact: false)
        /// An incremental backup's chain, every link checked before staging starts.
        var chain: BackupChain.Resolved?
    }

    /// A staged tree, verified, with the swap that puts it in place.
    private struct Staged {
        var swap: TreeSwap
        /// Folders a code swap descends into (`pub`): their mode and mtime as archived.
        var holders: [(path: PathBytes, mode: mode_t, mtime: timespec)]
    }

    /// Restores the tree: plan, stage (extract and verify), swap. Returns the removal of the
    /// tree it replaced, for the caller to run once the store is out of maintenance mode (nil
    /// after `--in-place`).
    func run() throws -> PendingRemovals.Removal? {
        let (liveBase, unit) = try target()
        if inPlace {
            if S3Location.object(archive) == nil, BackupKind.isIncremental(fileName: (archive as NSString).lastPathComponent) {
                throw StoreError(.refused, "--in-place cannot restore an incremental backup (files deleted since its full backup would stay); roll back without --in-place.")
            }
            try extractInPlace(liveBase: liveBase, unit: unit)
            return nil
        }
        let plan = try planStaging(liveBase: liveBase, unit: unit)
        let staged = try stage(plan)
        return try swapIn(staged, plan: plan)
    }

    /// Everything that can refuse the rollback before the staging folder exists.
    private func planStaging(liveBase: PathBytes, unit: PathBytes?) throws -> StagingPlan {
        var plan = StagingPlan(liveBase: liveBase, unit: unit)
        // Media on its own volume (pub/media mounted there, or a symlink to a mount point, as
        // shared storage is): the mount point itself cannot be renamed, and staging beside it
        // would be on another filesystem. Stage inside the volume and swap its children instead.
        if kind == .media, let u = unit {
            let real = TreeSwap.resolved(liveBase.appendingComponent(u))
            if MountTable.current().mountPoints.contains(real) {
                Console.detail("\(real.displayString) is a mount point: staging inside it and swapping its contents")
                plan.liveBase = real
                plan.unit = nil
                plan.childSwap = true
            }
        }
        if kind == .media {
            // The media swap sets the whole tree aside and deletes it: a backup kept in there
            // would go with it (the code swap keeps such files where they are instead).
            let replaced = plan.unit.map { plan.liveBase.appendingComponent($0) } ?? plan.liveBase
            if let inside = keep.first(where: { !keptPaths(in: replaced, of: [$0]).isEmpty }) {
                throw StoreError(.refused, "The rollback file \(inside) lies inside \(replaced.displayString), which a media rollback replaces and then deletes. Move it to var/backups and try again.")
            }
        }
        if let unit = plan.unit {
            // Known before extracting: refuse now rather than after staging the whole archive.
            try TreeSwap(kind: kind.rawValue, liveBase: plan.liveBase, stagingBase: plan.liveBase, oldBase: plan.liveBase,
                         units: [TreeSwap.Unit(path: unit, staged: false)]).checkRenamable()
        }
        var baseInfo = stat()
        plan.baseTime = plan.liveBase.withCPath { lstat($0, &baseInfo) } == 0 ? baseInfo.st_mtim : nil
        plan.size = ArchiveInput.size(archive, settings: objectStore)
        if S3Location.object(archive) == nil, let chain = try BackupChain.resolve(archive), chain.isIncremental {
            guard chain.header.kind == kind else {
                throw StoreError(.refused, "\(archive) records a \(chain.header.kind.rawValue) tree, not \(kind.rawValue)")
            }
            plan.chain = chain
            // The staged tree is at most what the whole chain holds.
            let sizes = chain.paths.map { ArchiveSize.of($0) }
            plan.size = ArchiveSize(bytes: sizes.reduce(0) { $0 + $1.bytes }, exact: false)
            Console.detail("incremental: restoring from a chain of \(chain.paths.count) backups: \(chain.paths.map { ($0 as NSString).lastPathComponent }.joined(separator: ", "))")
        }
        if !hasSpace(plan.liveBase, needed: plan.size), let pending = pendingRemovals, !pending.isEmpty {
            Console.detail("removing the trees replaced earlier in this run first, for space")
            pending.performAll()
        }
        try checkSpace(plan.liveBase, needed: plan.size)
        let tag = "\(kind.rawValue)-\(getpid())"
        plan.staging = plan.liveBase.appendingComponent(InternalNames.staging(tag))
        plan.old = plan.liveBase.appendingComponent(InternalNames.setAside(tag))
        return plan
    }

    /// Extracts the whole archive into the staging folder (the extraction reads the stream to
    /// its end, so every CRC is checked) and plans the swap. On any failure, or a signal, the
    /// staging folder goes and the live tree was never touched.
    private func stage(_ plan: StagingPlan) throws -> Staged {
        let (liveBase, staging) = (plan.liveBase, plan.staging)
        guard staging.withCPath({ mkdir($0, 0o700) }) == 0 else {
            throw StoreError.call("Cannot create the staging folder \(staging.displayString)", "mkdir", path: staging.displayString)
        }
        // Writer threads may still be creating files in the staging folder when a signal comes.
        // They open paths below its name, so renaming it away first stops them (ENOENT), and
        // what is renamed can then be removed; anything left is the next run's recovery's.
        let aside = liveBase.appendingComponent(InternalNames.interrupted("\(kind.rawValue)-\(getpid())"))
        let token = SignalGuard.shared.addCleanup {
            guard staging.withCPath({ s in aside.withCPath { rename(s, $0) } }) == 0 else { return }
            // A writer whose path lookup began before the rename may still add one file; retry.
            for _ in 0..<5 where TreeRemover.remove(aside, diagnostics: .console) != nil { usleep(10_000) }
        }
        do {
            let extractBase: PathBytes
            if let unit = plan.unit {
                extractBase = staging.appendingComponent(unit)
                _ = extractBase.withCPath { mkdir($0, 0o755) }
            } else {
                extractBase = staging
            }
            let started = Clock.seconds()
            let report = try plan.chain.map { try extractChain($0, into: extractBase) }
                ?? extract(into: extractBase, options: extractorOptions(), size: plan.size)
            Console.detail("restored \(report.files) files, \(report.directories) directories, \(report.symlinks) symlinks, \(report.hardLinks) hard links, \(report.bytes) bytes; skipped \(report.skipped); staged in \(Clock.since(started))")
            var staged = Staged(swap: TreeSwap(kind: kind.rawValue, liveBase: liveBase, stagingBase: staging, oldBase: plan.old, units: []), holders: [])
            if let unit = plan.unit {
                staged.swap.units = [TreeSwap.Unit(path: unit, staged: true)]
            } else {
                // What the backup left out with --exclude is not the archive's to remove.
                let recorded = try report.manifest.map { try BackupManifest.parse($0).exclude } ?? []
                if !recorded.isEmpty { Console.detail("left in place, as the backup excluded them: \(recorded.joined(separator: ", "))") }
                let kept = keptPaths(in: liveBase) + (try livePaths(matching: recorded, in: liveBase))
                let planner = CodeSwapPlanner(liveBase: liveBase, stagedBase: staging, keep: kept,
                                              exclusions: plan.childSwap ? [] : MagentoRoot.codeExclusions)
                staged.swap.units = try planner.plan()
                staged.holders = planner.holderMetadata()
            }
            SignalGuard.shared.removeCleanup(token)
            return staged
        } catch {
            // A signal's clean-up renames the staging folder away, which makes the extraction
            // fail here; wait for that clean-up (it ends the process) rather than exit under it.
            SignalGuard.shared.critical {}
            SignalGuard.shared.removeCleanup(token)
            TreeRemover.remove(staging, diagnostics: .console)
            throw error
        }
    }

    /// The swap, under its journal and inside the signal guard's critical section: a swap
    /// that fails is undone (or left journaled for the next run), never half done silently.
    private func swapIn(_ staged: Staged, plan: StagingPlan) throws -> PendingRemovals.Removal {
        let (swap, liveBase) = (staged.swap, plan.liveBase)
        let liveHolderTimes: [(PathBytes, timespec)] = staged.holders.compactMap { h in
            var st = stat()
            return h.path.withCPath({ lstat($0, &st) }) == 0 ? (h.path, st.st_mtim) : nil
        }
        do {
            try swap.checkRenamable()
        } catch {
            TreeRemover.remove(plan.staging, diagnostics: .console)
            throw error
        }
        let journal = SwapJournal(path: RollbackLayout.journalPath(root: root, kind: kind))
        do {
            try SignalGuard.shared.critical { try journal.run(swap) }
        } catch let error as SwapUndoneError {
            swap.cleanUp(diagnostics: .console)
            // The renames back stamped the folders that hold the units; give them their times back.
            for (path, mtime) in liveHolderTimes { setModificationTime(path, mtime) }
            if let baseTime = plan.baseTime { setModificationTime(liveBase, baseTime) }
            throw error
        } catch let error as SwapJournal.NotWritten {
            // No journal (a full disk, say): nothing was renamed, and the staged copy would
            // otherwise stay until the next rollback.
            TreeRemover.remove(plan.staging, diagnostics: .console)
            throw error.cause
        }
        for h in staged.holders {
            _ = h.path.withCPath { chmod($0, h.mode) }
            setModificationTime(h.path, h.mtime)
        }
        let (kind, baseTime) = (self.kind, plan.baseTime)
        return PendingRemovals.Removal {
            let removing = Clock.seconds()
            swap.cleanUp(diagnostics: .console)
            Console.detail("removed the replaced \(kind.rawValue) tree in \(Clock.since(removing))")
            if let baseTime { setModificationTime(liveBase, baseTime) }
        }
    }

    /// The folder that holds the live tree, and the tree's name in it (media), or nil for
    /// code, whose live tree is the root itself less the excluded paths.
    private func target() throws -> (PathBytes, PathBytes?) {
        switch kind {
        case .media:
            var st = stat()
            if lstat(root.media, &st) == 0, (st.st_mode & S_IFMT) == S_IFLNK {
                // Shared storage: restore into the symlink's target, keep the symlink.
                guard let real = realpath(root.media, nil) else {
                    throw StoreError.call("pub/media is a symlink that does not resolve", "realpath", path: root.media)
                }
                defer { free(real) }
                let path = String(cString: real)
                return (PathBytes(path: (path as NSString).deletingLastPathComponent),
                        PathBytes(path: (path as NSString).lastPathComponent))
            }
            try FileManager.default.createDirectory(atPath: root.path + "/pub", withIntermediateDirectories: true)
            return (PathBytes(path: root.path + "/pub"), PathBytes(path: "media"))
        default:
            return (PathBytes(path: root.path), nil)
        }
    }

    /// The progress line (on a terminal only): bytes of the expanded size when the archive
    /// records it (fastbackup's own), else bytes and files so far.
    private func startProgress(_ size: ArchiveSize) -> Progress {
        Progress.shared.start(label: "\(kind.title) rollback", totalBytes: size.exact ? Int(size.bytes) : 0, totalFiles: 0)
        return Progress.shared
    }

    /// Each writer holds one descriptor; the decompressor and the archive need a few more.
    static func writerThreads(_ limits: ResourceLimits = .current) -> Int {
        max(1, min(max(2, limits.cores * 2), limits.descriptorBudget / 2, limits.processes / 4))
    }

    private func extractorOptions() -> ArchiveExtractor.Options {
        var options = ArchiveExtractor.Options()
        options.diagnostics = .console
        options.writerThreads = Self.writerThreads()
        if kind == .media {
            options.requiredPrefix = PathBytes(path: "pub/media")
        } else {
            options.manifestPath = PathBytes(path: BackupManifest.archivePath)
            options.manifestMaximumSize = Int64(BackupManifest.maximumSize)
            let rules = ExclusionRules(fixed: MagentoRoot.codeExclusions, patterns: [])
            options.skip = { rel in rules.excludes(rel) || InternalNames.isInternal(rel) }
        }
        return options
    }

    /// The one extraction path, staged or in place: the archive is read to the end of its
    /// compressed stream, past the tar trailer, so the last member's CRC and length are checked
    /// before the caller swaps anything in (or reports an in-place run as done).
    private func extract(into base: PathBytes, options: ArchiveExtractor.Options, size: ArchiveSize) throws -> ArchiveExtractor.Report {
        var options = options
        options.progress = startProgress(size)
        defer { Progress.shared.stop() }
        return try Self.extract(archive, objectStore: objectStore, jobs: jobs, into: base, options: options)
    }

    /// An incremental backup: each archive of the chain, oldest first, read once, taking only
    /// the entries the newest record gives it; the newest comes last, so its folders (every
    /// incremental holds all of them) get their modes and times after every file is in.
    private func extractChain(_ chain: BackupChain.Resolved, into base: PathBytes) throws -> ArchiveExtractor.Report {
        var total = ArchiveExtractor.Report()
        let record = try chain.record ?? RecordReader(archive: chain.paths.last!)
        for (holder, path) in chain.paths.enumerated() {
            let filter = HolderFilter(record: try record.reopened(), holder: holder,
                                      archiveName: (path as NSString).lastPathComponent)
            var options = extractorOptions()
            let skip = options.skip
            options.skip = { rel in
                let wanted = filter.wants(rel)
                return !wanted || skip(rel)
            }
            options.progress = startProgress(ArchiveSize.of(path))
            let report: ArchiveExtractor.Report
            do {
                defer { Progress.shared.stop() }
                report = try Self.extract(path, objectStore: nil, jobs: jobs, into: base, options: options)
            }
            try filter.finish()
            Console.detail("\((path as NSString).lastPathComponent): \(report.files) files, \(report.directories) directories restored, \(report.skipped) entries left to later backups or deleted since")
            total.files += report.files
            total.directories += report.directories
            total.symlinks += report.symlinks
            total.hardLinks += report.hardLinks
            total.bytes += report.bytes
            if holder == chain.paths.count - 1 { total.manifest = report.manifest }
        }
        return total
    }

    /// The whole archive (a path or an object) through the parallel decompressor into the
    /// extractor, then the compressed stream read to its end; the download's failure, when there
    /// is one, is the one reported. Partial restores that read everything come through here too.
    static func extract(_ archive: String, objectStore: S3Settings?, jobs: Int, into base: PathBytes,
                        options: ArchiveExtractor.Options) throws -> ArchiveExtractor.Report {
        let input = try ArchiveInput(archive, settings: objectStore)
        do {
            let decompressor = try ParallelDecompressor(inputFD: input.fd, path: archive, threads: jobs)
            let report = try ArchiveExtractor(options: options).extract(from: TarReader(source: decompressor), into: base)
            try decompressor.readToEnd()
            try input.finish()
            return report
        } catch {
            throw input.failureBehind(error)
        }
    }

    /// `--in-place`: Magento's way, over the live tree, for a filesystem too full to stage.
    private func extractInPlace(liveBase: PathBytes, unit: PathBytes?) throws {
        let base = unit.map { liveBase.appendingComponent($0) } ?? liveBase
        _ = base.withCPath { mkdir($0, 0o755) }
        var options = extractorOptions()
        options.replaceExisting = true
        if unit == nil {
            // Over the live root: an entry `pub` that is a file would otherwise replace the live
            // pub folder, pub/media and pub/static with it.
            options.protectedPaths = MagentoRoot.codeExclusions.map { PathBytes(path: $0) } + keptPaths(in: liveBase)
        }
        _ = try extract(into: base, options: options, size: ArchiveInput.size(archive, settings: objectStore))
    }

    /// The `keep` files that lie inside `liveBase`, relative to it (symlinks resolved on both sides).
    /// Live paths that a backup's `--exclude` patterns match (the first match on each branch),
    /// so that the swap keeps them and their folders where they are.
    private func livePaths(matching patterns: [String], in liveBase: PathBytes) throws -> [PathBytes] {
        guard !patterns.isEmpty else { return [] }
        let fixed = ExclusionRules(fixed: MagentoRoot.codeExclusions, patterns: [])
        let matching = ExclusionRules(fixed: [], patterns: patterns)
        var found: [PathBytes] = []
        var unreadable: [String] = []
        // The walker calls `exclude` on its emitting thread only, once per path.
        try DirectoryWalker(threads: 2, exclude: { rel, _ in
            if fixed.excludes(rel) || InternalNames.isInternal(rel) { return true }
            if matching.excludes(rel) { found.append(rel); return true }
            return false
        }).walk(base: liveBase, visit: { _ in }, problem: { p in
            // A folder that cannot be read may hold excluded paths; the swap would set them aside
            // with it and delete them. (A path that vanished or was replaced is not one to keep.)
            if case let .unreadable(path, errno) = p { unreadable.append("\(path.displayString): \(String(cString: strerror(errno)))") }
        })
        if let first = unreadable.first {
            throw StoreError(.refused, "Cannot read the live folder \(first), so the paths the backup excluded in it cannot be kept. Nothing was changed.")
        }
        return found
    }

    private func keptPaths(in liveBase: PathBytes, of files: [String]? = nil) -> [PathBytes] {
        let base = TreeSwap.resolved(liveBase)
        return (files ?? keep).compactMap { path in
            let real = TreeSwap.resolved(PathBytes(path: path))
            return real.isBelow(base) ? real.relative(to: base) : nil
        }
    }

    /// Bytes free for this user on the filesystem of `dir`, nil when it cannot be asked.
    private func freeBytes(_ dir: PathBytes) -> Int64? {
        var fs = statvfs()
        guard dir.withCPath({ statvfs($0, &fs) }) == 0 else { return nil }
        return Int64(fs.f_bavail) * Int64(fs.f_frsize)
    }

    private func hasSpace(_ dir: PathBytes, needed size: ArchiveSize) -> Bool {
        (freeBytes(dir) ?? .max) >= size.bytes
    }

    private func checkSpace(_ dir: PathBytes, needed size: ArchiveSize) throws {
        guard let free = freeBytes(dir) else { return }
        if free < size.bytes {
            let what = size.exact
                ? "the archive expands to \(formatBytes(size.bytes))"
                : "the archive is \(formatBytes(size.bytes)) (it was not written by fastbackup, so its expanded size is unknown; counted at its compressed size, which is a lower bound)"
            throw StoreError(.notEnoughSpace(rollback: true), "Not enough free space in \(dir.displayString) to stage the restore beside the live tree: \(what) and \(formatBytes(free)) is free.")
        }
    }

    /// Finishes or cleans up what an interrupted rollback left behind.
    static func recover(root: MagentoRoot) throws {
        for kind in [BackupKind.code, .media] {
            let journal = SwapJournal(path: RollbackLayout.journalPath(root: root, kind: kind))
            guard journal.exists else { continue }
            Console.line("A previous \(kind.rawValue) rollback was interrupted while swapping the restored tree in; finishing it.")
            try journal.resume()?.cleanUp(diagnostics: .console)
        }
        // Staging or old folders without a journal: a run killed before or after its swap.
        var bases = [root.path, root.path + "/pub"]
        if let real = realpath(root.media, nil) {
            // Beside the media folder, or inside it when it is a volume of its own.
            let media = String(cString: real)
            bases += [(media as NSString).deletingLastPathComponent, media]
            free(real)
        }
        for base in Set(bases) {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: base) else { continue }
            for name in names {
                switch InternalNames.leftover(name) {
                case .staging?:
                    Console.line("Removing \(base)/\(name), left by an interrupted rollback (the live tree was not changed by it).")
                case .setAside?:
                    Console.line("Removing \(base)/\(name): the tree an earlier rollback replaced, not yet deleted when it stopped.")
                case nil:
                    continue
                }
                TreeRemover.remove(PathBytes(path: base + "/" + name), diagnostics: .console)
            }
        }
    }
}

/// Works out which paths a code swap renames: everything at the top of the root, except the
/// excluded paths; a folder that holds an excluded path (`pub`) is descended into instead,
/// so `pub/media` and `pub/static` stay where they are. Kept files (the archives being restored,
/// when they lie in the root) are treated the same way: left alone, their folders descended into.
///
/// A folder descended into must be a real folder on both sides: a symlink there (an archive
/// holding `pub -> /elsewhere`, or a live `pub` symlink) would make the swap rename files through
/// it, so the plan is refused instead.
struct CodeSwapPlanner {
    let liveBase: PathBytes
    let stagedBase: PathBytes
    private let rules: ExclusionRules
    private let exclusions: [String]
    private let keep: [PathBytes]
    private let holders: [PathBytes]

    /// `exclusions` are root-relative paths left in place (Magento's code exclusions by
    /// default; none for the contents of a media volume).
    init(liveBase: PathBytes, stagedBase: PathBytes, keep: [PathBytes] = [], exclusions: [String] = MagentoRoot.codeExclusions,
         patterns: [String] = []) {
        self.liveBase = liveBase
        self.stagedBase = stagedBase
        self.keep = keep
        self.exclusions = exclusions
        rules = ExclusionRules(fixed: exclusions, patterns: patterns)
        var holders: [PathBytes] = []
        for path in exclusions.map({ PathBytes(path: $0) }) + keep {
            var parts = path.split(separator: UInt8(ascii: "/")).map { PathBytes($0) }
            while parts.count > 1 {
                parts.removeLast()
                let holder = parts.reduce(PathBytes()) { $0.appendingComponent($1) }
                if !holders.contains(holder) { holders.append(holder) }
            }
        }
        self.holders = holders
    }

    /// Folders the swap descended into (`pub`) stay in place, so they must take the archive's
    /// mode and mtime from their staged twins, read before the swap empties (and re-stamps) them.
    func holderMetadata() -> [(path: PathBytes, mode: mode_t, mtime: timespec)] {
        holders.compactMap { holder in
            var st = stat()
            guard stagedBase.appendingComponent(holder).withCPath({ lstat($0, &st) }) == 0,
                  (st.st_mode & S_IFMT) == S_IFDIR else { return nil }
            return (liveBase.appendingComponent(holder), st.st_mode & 0o7777, st.st_mtim)
        }
    }

    func plan() throws -> [TreeSwap.Unit] {
        var units: [TreeSwap.Unit] = []
        try walk([], into: &units)
        return units
    }

    private func walk(_ rel: PathBytes, into units: inout [TreeSwap.Unit]) throws {
        var names = Set(list(liveBase.appendingComponent(rel)))
        names.formUnion(list(stagedBase.appendingComponent(rel)))
        for name in names.sorted(by: { $0.lexicographicallyPrecedes($1) }) {
            if rel.isEmpty && InternalNames.isInternal(name) { continue }
            let path = rel.appendingComponent(name)
            if rules.excludes(path) || keep.contains(path) { continue }
            let stagedPath = stagedBase.appendingComponent(path)
            if holders.contains(path) {
                for (side, p) in [("archive's", stagedPath), ("live", liveBase.appendingComponent(path))]
                where exists(p) && !isDirectory(p) {
                    throw StoreError(.refused, "The \(side) \(path.displayString) is not a folder (\(kindName(p))), but it holds paths a rollback keeps in place (\((exclusions + keep.map(\.displayString)).joined(separator: ", "))); swapping it would move files through it. Refusing to roll back; nothing was changed. Make \(path.displayString) a real folder, or use an archive that has one.")
                }
                if !exists(liveBase.appendingComponent(path)) {
                    _ = liveBase.appendingComponent(path).withCPath { mkdir($0, 0o755) }
                }
                try walk(path, into: &units)
                continue
            }
            units.append(TreeSwap.Unit(path: path, staged: exists(stagedPath)))
        }
    }

    /// The names in `dir`, never through a symlink (an empty list when `dir` is not a folder).
    private func list(_ dir: PathBytes) -> [PathBytes] {
        let fd = dir.withCPath { open($0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else { return [] }
        guard let d = fdopendir(fd) else { close(fd); return [] }
        defer { closedir(d) }
        var names: [PathBytes] = []
        while let ent = readdir(d) {
            let name = entryName(ent)
            if name != [0x2E] && name != [0x2E, 0x2E] { names.append(name) }
        }
        return names
    }

    private func exists(_ p: PathBytes) -> Bool { var st = stat(); return p.withCPath { lstat($0, &st) } == 0 }
    private func kindName(_ p: PathBytes) -> String {
        var st = stat()
        guard p.withCPath({ lstat($0, &st) }) == 0 else { return "missing" }
        switch st.st_mode & S_IFMT {
        case S_IFLNK: return "a symlink"
        case S_IFREG: return "a file"
        default: return "not a directory"
        }
    }
    private func isDirectory(_ p: PathBytes) -> Bool {
        var st = stat()
        return p.withCPath { lstat($0, &st) } == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }
}
