import Foundation
import ThreadKit
import ParallelGzip
import StreamTar

/// A code or media backup: one tree into one `.tgz` (or `.tar.zst`).
struct TreeBackup {
    let root: MagentoRoot
    let kind: BackupKind
    let settings: ArchiveSettings
    let patterns: [String]
    let checkSpace: Bool
    /// The archive's file name, recorded in its tree record.
    var name: String = ""
    /// For an incremental backup: the record of the backup it builds on, at its first line.
    var base: RecordReader? = nil

    func write(to destination: BackupDestination) throws {
        let checkSpace = self.checkSpace && destination.writesLocalFile
        let (base, prefix, includeBase, rules) = try source()
        let limits = Self.pipelineLimits()
        // A rollback of media on its own volume stages inside it: its `.fastbackup-*` folders at
        // the top of the media tree are the tool's, never content.
        let internalAtTop: (PathBytes) -> Bool = { [kind] rel in
            kind == .media && !rel.contains(UInt8(ascii: "/")) && InternalNames.isInternal(rel)
        }
        let exclude: (PathBytes, stat) -> Bool = { rel, _ in internalAtTop(rel) || rules.excludes(prefix.appendingComponent(rel)) }

        // The space check and the ETA want the tree's size before the first byte is written. A
        // second walk for it doubled every folder's open and listing, so it runs only where the
        // file systems cannot vouch for the space and where a terminal shows the ETA.
        var totalBytes = 0, totalFiles = 0
        let bound = checkSpace ? SpaceBound.fromFileSystems(tree: base, destination: root.backupsDirectory) : nil
        if let bound { Console.detail("space: \(bound.summary)") }
        if Progress.shared.enabled || (checkSpace && bound?.fits != true) {
            let sizing = Clock.seconds()
            try DirectoryWalker(threads: limits.walkerThreads, exclude: exclude).walk(base: base, visit: { e in
                totalFiles += 1
                if (e.info.st_mode & S_IFMT) == S_IFREG { totalBytes += Int(e.info.st_size) }
            }, problem: { _ in })
            Console.detail("sized \(totalFiles) entries, \(totalBytes) bytes in \(Clock.since(sizing))")
            if checkSpace && bound?.fits != true {
                try Self.checkFreeSpace(needed: totalBytes + totalFiles * 1024, at: root.backupsDirectory)
            }
        }

        let output = try destination.open()
        do {
            var options = settings.options
            if !output.isLocalFile { options.directIO = false; options.writeBehind = 0 }
            let compressor = try ParallelCompressor(outputFD: output.fd, path: output.displayPath, options: options)
            let writer = TarWriter(sink: compressor)
            var index = ArchiveIndex(stride: options.chunkSize)
            writer.entryObserver = { offset, name in index.note(offset: offset, name: name.bytes) }
            if kind == .code { try writeManifest(to: writer) }
            let archiving = Clock.seconds()
            Progress.shared.start(label: "\(kind.title) backup", totalBytes: totalBytes, totalFiles: totalFiles)
            defer { Progress.shared.stop() }
            let spool = RecordSpool(header: recordHeader(), directory: spoolDirectory())
            let detector = self.base.map(ChangeDetector.init(base:))
            let selfHolder = spool.header.selfHolder
            let archiver = TreeArchiver(limits: limits, diagnostics: .console)
            archiver.recording = TreeArchiver.Recording(
                unchanged: { rel, st in detector?.holder(rel, st) },
                record: { rel, st, held in try spool.add(TreeRecord.Line(path: rel, info: st, holder: held ?? selfHolder)) })
            let report = try archiver.archive(
                base: base, prefix: prefix, includeBase: includeBase, exclude: exclude, into: writer, progress: Progress.shared)
            try detector?.finish()
            // The record goes last, once the whole tree is known; its place is in the index,
            // not among the marks (its name sorts among the tree's, its place does not).
            var recordOffset: Int64 = -1
            writer.entryObserver = { offset, _ in recordOffset = offset }
            let (recordLength, recordHash) = try spool.finish()
            try spool.write(into: writer, length: recordLength)
            writer.entryObserver = nil
            index.record = ArchiveIndex.RecordLocation(offset: recordOffset, length: recordLength, sha256: recordHash)
            if let detector, let baseName = spool.header.links.last?.name {
                Console.line("\(kind.title) backup is incremental on \(baseName): \(report.entries) entries stored (folders, links and new or changed files), \(detector.unchangedFiles) unchanged files (\(formatBytes(detector.unchangedBytes))) left to the chain of \(spool.header.links.count) earlier backups.")
            }
            try writer.finish()
            // After the end-of-archive blocks, where tar readers stop: see ArchiveIndex.
            try index.encoded().withUnsafeBytes { try compressor.write($0) }
            let stats = try compressor.finish()
            if !report.unreadable.isEmpty {
                let shown = report.unreadable.prefix(20).joined(separator: "\n  ")
                let more = report.unreadable.count > 20 ? "\n  ... and \(report.unreadable.count - 20) more" : ""
                let heading = report.unreadableForPermissions ? "Not enough permissions to read files for backup" : "Cannot read files for backup"
                throw StoreError(.failed, "\(heading):\n  \(shown)\(more)")
            }
            Console.detail("\(report.entries) entries, \(report.bytes) bytes in, \(stats.outputBytes) bytes out (\(stats.directBytes) written direct) in \(Clock.since(archiving))")
            let syncing = Clock.seconds()
            try output.commit()
            Console.detail(output.isLocalFile ? "flushed to disk and linked into place in \(Clock.since(syncing))"
                                              : "upload completed in \(Clock.since(syncing))")
        } catch {
            throw output.failureBehind(error)
        }
    }

    /// Where the tree is, what its entries are named, and what is left out.
    private func source() throws -> (PathBytes, PathBytes, Bool, ExclusionRules) {
        switch kind {
        case .media:
            // A symlinked pub/media (shared storage) is archived by its content, under its own name.
            guard let real = realpath(root.media, nil) else {
                throw StoreError.call("Cannot back up media: \(root.media)", "realpath", path: root.media)
            }
            defer { free(real) }
            return (PathBytes(path: String(cString: real)), PathBytes(path: "pub/media"), true,
                    ExclusionRules(fixed: [], rootGlobs: RollbackLayout.internalMediaNames, patterns: patterns))
        default:
            // `.fastbackup-*` at the root are a rollback's staging and old folders, never code.
            return (PathBytes(path: root.path), [], false,
                    ExclusionRules(fixed: MagentoRoot.codeExclusions, rootGlobs: RollbackLayout.internalNames, patterns: patterns))
        }
    }

    private func recordHeader() -> TreeRecord.Header {
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        var links: [TreeRecord.Link] = []
        if let base {
            links = base.header.links + [TreeRecord.Link(name: (base.archive as NSString).lastPathComponent, sha256: base.location.sha256)]
        }
        return TreeRecord.Header(kind: kind, created: f.string(from: Date()), name: name, links: links)
    }

    /// var/backups when it is there (a large record spills beside the archive), else TMPDIR.
    private func spoolDirectory() -> String {
        access(root.backupsDirectory, W_OK) == 0 ? root.backupsDirectory : NSTemporaryDirectory()
    }

    /// The archive's first entry: the `--exclude` patterns, for the rollback (see BackupManifest).
    private func writeManifest(to writer: TarWriter) throws {
        let body = BackupManifest(kind: kind, exclude: patterns).encoded()
        var header = TarHeader(name: TarPath(bytes: PathBytes(path: BackupManifest.archivePath)), mode: 0o640,
                               uid: Int(geteuid()), gid: Int(getegid()), size: Int64(body.count),
                               modificationTime: TarTime(seconds: Int64(time(nil))))
        TarOwnerNames().fill(&header)
        try writer.writeHeader(header)
        try body.withUnsafeBytes { try writer.writeBody($0) }
    }

    /// Walker threads at most: 4 bought nothing cold (4.38-4.92 s against 4.41-4.67 s).
    static let maxWalkerThreads = 2
    static let maxReaderThreads = 4
    static let readAheadBytes = 64 << 20
    /// Larger files are streamed by the tar writer instead of read ahead.
    static let readAheadMaxFile = 4 << 20
    static let queuedEntries = 4096

    static func pipelineLimits(_ limits: ResourceLimits = .current) -> TreeArchiver.Limits {
        // Each walker and reader thread holds at most one descriptor at a time.
        let fdShare = max(1, limits.descriptorBudget / 4)
        return TreeArchiver.Limits(
            walkerThreads: max(1, min(maxWalkerThreads, fdShare)),
            readerThreads: max(1, min(maxReaderThreads, fdShare)),
            prefetchBytes: readAheadBytes,
            prefetchMaxFile: readAheadMaxFile,
            queuedEntries: queuedEntries)
    }

    static func checkFreeSpace(needed: Int, at dir: String) throws {
        guard let free = SpaceBound.freeBytes(at: dir) else { return }
        if free < needed {
            throw StoreError(.notEnoughSpace(rollback: false), "Not enough free space in \(dir): the archive may need up to \(formatBytes(Int64(needed))) and \(formatBytes(Int64(free))) is free.")
        }
    }
}
