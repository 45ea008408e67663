import Foundation
import ParallelGzip
import StreamTar

extension ParallelDecompressor: TarByteSource {}

/// A code or media rollback: extract into a staging folder on the same filesystem, check the
/// whole archive, then swap the staged tree in with renames and delete the old one. Until the
/// swap, the live tree is not touched; a failure removes the staging folder and nothing else.
struct TreeRestore {
    let root: MagentoRoot
    let kind: BackupKind
    let archive: String
    let jobs: Int
    let inPlace: Bool

    func run() throws {
        let (liveBase, unit) = try target()
        if inPlace { return try extractInPlace(liveBase: liveBase, unit: unit) }

        // The staging folder and the renames stamp the folder that holds the tree; it gets its
        // own mtime back at the end, so a rollback leaves no trace outside what it restores.
        var baseInfo = stat()
        let baseTime = liveBase.withCPath { lstat($0, &baseInfo) } == 0 ? baseInfo.st_mtim : nil
        let archiveSize = fileSize(archive)
        try checkSpace(liveBase, needed: archiveSize)
        let tag = "\(kind.rawValue)-\(getpid())"
        let staging = liveBase.appendingComponent(PathBytes(path: ".fastbackup-staging-\(tag)"))
        let old = liveBase.appendingComponent(PathBytes(path: ".fastbackup-old-\(tag)"))
        guard staging.withCPath({ mkdir($0, 0o700) }) == 0 else {
            throw CommandError("Cannot create the staging folder \(staging.displayString): \(String(cString: strerror(errno)))")
        }
        let token = SignalGuard.shared.addCleanup { TreeRemover.remove(staging) }
        var swap: TreeSwap
        do {
            let extractBase: PathBytes
            if let unit {
                extractBase = staging.appendingComponent(unit)
                _ = extractBase.withCPath { mkdir($0, 0o755) }
            } else {
                extractBase = staging
            }
            let report = try extract(into: extractBase)
            Console.detail("restored \(report.files) files, \(report.directories) directories, \(report.symlinks) symlinks, \(report.hardLinks) hard links, \(report.bytes) bytes; skipped \(report.skipped)")
            let units: [TreeSwap.Unit]
            if let unit {
                units = [TreeSwap.Unit(path: unit, staged: true)]
            } else {
                units = try CodeSwapPlanner(liveBase: liveBase, stagedBase: staging).plan()
            }
            swap = TreeSwap(kind: kind.rawValue, liveBase: liveBase, stagingBase: staging, oldBase: old, units: units)
        } catch {
            SignalGuard.shared.removeCleanup(token)
            TreeRemover.remove(staging)
            throw error
        }
        SignalGuard.shared.removeCleanup(token)
        let holders = unit == nil ? CodeSwapPlanner.holderMetadata(liveBase: liveBase, stagedBase: staging) : []
        let journal = TreeSwap.journalPath(root: root, kind: kind)
        try SignalGuard.shared.critical {
            try swap.writeJournal(to: journal)
            _ = old.withCPath { mkdir($0, 0o700) }
            try swap.perform()
            unlink(journal)
        }
        if unit == nil { CodeSwapPlanner.applyHolderMetadata(holders, liveBase: liveBase) }
        swap.cleanUp()
        if let baseTime { setModificationTime(liveBase, baseTime) }
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
                    throw CommandError("pub/media is a symlink that does not resolve: \(String(cString: strerror(errno)))")
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

    private func extractorOptions() -> ArchiveExtractor.Options {
        var options = ArchiveExtractor.Options()
        let limits = ResourceLimits.current
        // Each writer holds one descriptor; the decompressor and the archive need a few more.
        options.writerThreads = max(1, min(max(2, limits.cores * 2), limits.descriptorBudget / 2, limits.processes / 4))
        if kind == .media {
            options.requiredPrefix = PathBytes(path: "pub/media")
        } else {
            let rules = ExclusionRules(fixed: MagentoRoot.codeExclusions, patterns: [])
            options.skip = { rel in rules.excludes(rel) || rel.starts(with: PathBytes(path: ".fastbackup-")) }
        }
        return options
    }

    private func extract(into base: PathBytes) throws -> ArchiveExtractor.Report {
        let fd = open(archive, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CommandError("Cannot open \(archive): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let decompressor = try ParallelDecompressor(inputFD: fd, path: archive, threads: jobs)
        let reader = TarReader(source: decompressor)
        let report = try ArchiveExtractor(options: extractorOptions()).extract(from: reader, into: base)
        // The tar trailer ends before the compressed stream does: read to the end so the last
        // member's CRC and length are checked before anything live is replaced.
        let sink = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { sink.deallocate() }
        while try decompressor.read(into: sink) > 0 {}
        return report
    }

    /// `--in-place`: Magento's way, over the live tree, for a filesystem too full to stage.
    private func extractInPlace(liveBase: PathBytes, unit: PathBytes?) throws {
        let base = unit.map { liveBase.appendingComponent($0) } ?? liveBase
        _ = base.withCPath { mkdir($0, 0o755) }
        var options = extractorOptions()
        options.replaceExisting = true
        let fd = open(archive, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CommandError("Cannot open \(archive): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let decompressor = try ParallelDecompressor(inputFD: fd, path: archive, threads: jobs)
        _ = try ArchiveExtractor(options: options).extract(from: TarReader(source: decompressor), into: base)
    }

    private func checkSpace(_ dir: PathBytes, needed: Int64) throws {
        var fs = statvfs()
        guard dir.withCPath({ statvfs($0, &fs) }) == 0 else { return }
        let free = Int64(fs.f_bavail) * Int64(fs.f_frsize)
        if free < needed {
            throw CommandError("Not enough free space in \(dir.displayString) to stage the restore beside the live tree: the archive alone is \(formatBytes(needed)) and \(formatBytes(free)) is free. Free some space, or rerun with --in-place to extract over the live tree (Magento's way; a failure midway then leaves a mixed tree).")
        }
    }

    /// Finishes or cleans up what an interrupted rollback left behind.
    static func recover(root: MagentoRoot) throws {
        for kind in [BackupKind.code, .media] {
            let journal = TreeSwap.journalPath(root: root, kind: kind)
            guard FileManager.default.fileExists(atPath: journal) else { continue }
            let swap = try TreeSwap.readJournal(journal)
            Console.line("A previous \(kind.rawValue) rollback was interrupted while swapping the restored tree in; finishing it.")
            try swap.perform()
            unlink(journal)
            swap.cleanUp()
        }
        // Staging or old folders without a journal: a run killed before or after its swap.
        var bases = [root.path, root.path + "/pub"]
        if let real = realpath(root.media, nil) { bases.append((String(cString: real) as NSString).deletingLastPathComponent); free(real) }
        for base in Set(bases) {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: base) else { continue }
            for name in names where name.hasPrefix(".fastbackup-staging-") || name.hasPrefix(".fastbackup-old-") {
                Console.line("Removing \(base)/\(name), left by an interrupted rollback (the live tree was not changed by it).")
                TreeRemover.remove(PathBytes(path: base + "/" + name))
            }
        }
    }
}

func fileSize(_ path: String) -> Int64 {
    var st = stat()
    return stat(path, &st) == 0 ? Int64(st.st_size) : 0
}

/// Works out which paths a code swap renames: everything at the top of the root, except the
/// excluded paths; a folder that holds an excluded path (`pub`) is descended into instead,
/// so `pub/media` and `pub/static` stay where they are.
struct CodeSwapPlanner {
    let liveBase: PathBytes
    let stagedBase: PathBytes
    private let rules = ExclusionRules(fixed: MagentoRoot.codeExclusions, patterns: [])
    private let holders: [PathBytes] = MagentoRoot.codeExclusions.compactMap { path in
        let parts = path.split(separator: "/")
        return parts.count > 1 ? PathBytes(path: parts.dropLast().joined(separator: "/")) : nil
    }

    init(liveBase: PathBytes, stagedBase: PathBytes) {
        self.liveBase = liveBase
        self.stagedBase = stagedBase
    }

    /// Folders the swap descends into (`pub`) stay in place, so they take the archive's mode
    /// and mtime from their staged twins, which the extractor has set. Read them before the
    /// swap: moving entries out of a staged twin stamps its mtime with the time of the swap.
    static func holderMetadata(liveBase: PathBytes, stagedBase: PathBytes) -> [(PathBytes, stat)] {
        CodeSwapPlanner(liveBase: liveBase, stagedBase: stagedBase).holders.compactMap { holder in
            var st = stat()
            let staged = stagedBase.appendingComponent(holder)
            guard staged.withCPath({ lstat($0, &st) }) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return nil }
            return (holder, st)
        }
    }

    /// Gives the live holder folders the metadata ``holderMetadata(liveBase:stagedBase:)`` read.
    static func applyHolderMetadata(_ holders: [(PathBytes, stat)], liveBase: PathBytes) {
        for (holder, st) in holders {
            let live = liveBase.appendingComponent(holder)
            _ = live.withCPath { chmod($0, st.st_mode & 0o7777) }
            setModificationTime(live, st.st_mtim)
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
            if rel.isEmpty && name.starts(with: PathBytes(path: ".fastbackup-")) { continue }
            let path = rel.appendingComponent(name)
            if rules.excludes(path) { continue }
            let stagedPath = stagedBase.appendingComponent(path)
            if holders.contains(path), isDirectory(liveBase.appendingComponent(path)) || !exists(liveBase.appendingComponent(path)) {
                if !exists(liveBase.appendingComponent(path)) {
                    _ = liveBase.appendingComponent(path).withCPath { mkdir($0, 0o755) }
                }
                try walk(path, into: &units)
                continue
            }
            units.append(TreeSwap.Unit(path: path, staged: exists(stagedPath)))
        }
    }

    private func list(_ dir: PathBytes) -> [PathBytes] {
        guard let d = dir.withCPath({ opendir($0) }) else { return [] }
        defer { closedir(d) }
        var names: [PathBytes] = []
        while let ent = readdir(d) {
            let name: PathBytes = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                let b = raw.bindMemory(to: UInt8.self)
                return Array(b[0..<(b.firstIndex(of: 0) ?? b.count)])
            }
            if name != [0x2E] && name != [0x2E, 0x2E] { names.append(name) }
        }
        return names
    }

    private func exists(_ p: PathBytes) -> Bool { var st = stat(); return p.withCPath { lstat($0, &st) } == 0 }
    private func isDirectory(_ p: PathBytes) -> Bool {
        var st = stat()
        return p.withCPath { lstat($0, &st) } == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }
}
