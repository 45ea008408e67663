import Foundation
import ThreadKit
import StreamTar

/// What a tree backup met on its way.
struct ArchiveReport {
    var entries = 0
    var bytes: Int64 = 0
    var unreadable: [String] = []
    var unreadableForPermissions = true
}

/// Turns a directory tree into a tar stream: walker -> prefetching readers -> bounded queue
/// -> one tar writer (this thread) -> the sink (the parallel compressor).
///
/// Entry names are `prefix` + the path relative to `base`, in the walker's sorted order.
/// Hard links are decided here on the writer thread, once a name's body is written: a later
/// name of the same inode becomes a link entry only to a name that really is in the archive.
/// When the first name vanished, was unreadable or was replaced, the next name is streamed
/// from disk as a regular file and later names link to it. Memory for this grows with the
/// multiply-linked files only. A file whose open descriptor is not the walked file (swapped
/// since) is skipped with a warning. A file that changes size while it is read
/// is cut or zero-padded to the size in its header (the archive stays valid) with a warning;
/// one that vanishes is skipped with a warning; unreadable ones are collected and reported.
final class TreeArchiver {
    struct Limits {
        var walkerThreads: Int
        var readerThreads: Int
        var prefetchBytes: Int
        var prefetchMaxFile: Int
        var queuedEntries: Int
    }

    /// One entry on its way to the writer. Bodies of regular files read ahead are in the
    /// batch's ``ReadAhead`` at `readAheadIndex`; other regular files are streamed by the writer,
    /// and so are later names of a hard-linked file when no earlier name got in.
    private struct Item {
        var header: TarHeader
        let absolutePath: PathBytes
        /// Relative to the base; empty for the base itself.
        let relativePath: PathBytes
        let info: stat
        let readAheadIndex: Int?
        /// For a file an older backup of the chain holds unchanged: that backup's holder number
        /// (nothing is written, the record notes it).
        var heldBy: Int? = nil
    }

    /// What a backup that keeps a tree record (TreeRecord) needs from the run.
    struct Recording {
        /// Called on the emitter thread, in walk order, for each single-link regular file: the
        /// holder (an older backup of the chain) that has it unchanged, or nil to archive it.
        var unchanged: (PathBytes, stat) -> Int?
        /// Called on the writer thread, in archive order, for every walked entry archived
        /// (holder nil) or held by an older backup; not for the base, nor for skipped files.
        var record: (PathBytes, stat, Int?) throws -> Void
    }

    /// Up to ``ReadAheadBatching/maxFiles`` entries handed over at once, so that the per-file
    /// cost of a store's small files is not a thread hand-off each.
    private struct Batch {
        var items: [Item] = []
        var files: [ReadAheadFile] = []
        var bytes = 0
        var readAhead: ReadAhead?
    }

    private enum Handoff {
        case batch(Batch)
        case failed(Error)
    }

    let limits: Limits
    private let names = TarOwnerNames()

    /// Called on the writer thread with each entry's path before it is handled; lets tests
    /// change the tree at an exact point of the run.
    var beforeWriting: ((PathBytes) -> Void)?

    let diagnostics: Diagnostics
    var recording: Recording?
    /// The header an unchanged file's item carries: nothing is written for it.
    private static let unchangedPlaceholder = TarHeader(name: TarPath(bytes: []), mode: 0, uid: 0, gid: 0, size: 0,
                                                        modificationTime: TarTime(seconds: 0))

    init(limits: Limits, diagnostics: Diagnostics = .standardError) {
        self.limits = limits
        self.diagnostics = diagnostics
    }

    /// Archives the tree under `base` into `writer`. `includeBase` adds an entry for `base`
    /// itself, named `prefix` (used for `pub/media`, so its own mode and mtime come back).
    func archive(base: PathBytes, prefix: PathBytes, includeBase: Bool,
                 exclude: @escaping (PathBytes, stat) -> Bool,
                 into writer: TarWriter, progress: ProgressReporting) throws -> ArchiveReport {
        var report = ArchiveReport()
        let queue = BoundedQueue<Handoff>(capacity: max(2, limits.queuedEntries / ReadAheadBatching.maxFiles))
        let prefetcher = try FilePrefetcher(threads: limits.readerThreads, budgetBytes: limits.prefetchBytes,
                                        maxFileSize: limits.prefetchMaxFile)
        let walker = try DirectoryWalker(threads: limits.walkerThreads, exclude: exclude)
        let problems = ProblemLog(warn: diagnostics.warning)

        try startThread(named: "emitter", stackSize: ThreadStack.deep) { [self] in
            // Inodes already queued under one name; later names carry no read-ahead body.
            var linkedSeen = Set<FileIdentity>()
            var batch = Batch()
            func send() {
                if !batch.files.isEmpty { batch.readAhead = prefetcher.load(batch.files, totalBytes: batch.bytes) }
                if !batch.items.isEmpty { queue.push(.batch(batch)) }
                batch = Batch()
            }
            func add(_ header: TarHeader, path: PathBytes, rel: PathBytes, info: stat, readAhead: Bool) {
                var index: Int?
                if readAhead {
                    let capacity = Int(header.size) + 1
                    if batch.bytes + capacity > ReadAheadBatching.maxBytes && !batch.files.isEmpty { send() }
                    index = batch.files.count
                    batch.files.append(ReadAheadFile(path: path, identity: FileIdentity(info), offset: batch.bytes, capacity: capacity))
                    batch.bytes += capacity
                }
                batch.items.append(Item(header: header, absolutePath: path, relativePath: rel, info: info, readAheadIndex: index))
                if batch.items.count == ReadAheadBatching.maxFiles { send() }
            }
            do {
                if includeBase {
                    var st = stat()
                    guard base.withCPath({ stat($0, &st) }) == 0 else {
                        throw TreeError("Cannot read \(base.displayString): \(String(cString: strerror(errno)))")
                    }
                    add(self.header(name: prefix, info: st, link: []), path: base, rel: [], info: st, readAhead: false)
                }
                try walker.walk(base: base, visit: { entry in
                    let name = prefix.appendingComponent(entry.relativePath)
                    let type = entry.info.st_mode & S_IFMT
                    if type == S_IFSOCK {
                        problems.warn("\(entry.absolutePath.displayString): socket ignored")
                        return
                    }
                    if type == S_IFREG, entry.info.st_nlink == 1, let recording = self.recording,
                       let holder = recording.unchanged(entry.relativePath, entry.info) {
                        var item = Item(header: Self.unchangedPlaceholder, absolutePath: [], relativePath: entry.relativePath,
                                        info: entry.info, readAheadIndex: nil)
                        item.heldBy = holder
                        batch.items.append(item)
                        if batch.items.count == ReadAheadBatching.maxFiles { send() }
                        return
                    }
                    if type == S_IFREG, entry.info.st_nlink > 1, !linkedSeen.insert(FileIdentity(entry.info)).inserted {
                        add(self.header(name: name, info: entry.info, link: []), path: entry.absolutePath, rel: entry.relativePath, info: entry.info, readAhead: false)
                        return
                    }
                    var link: PathBytes = []
                    if type == S_IFLNK {
                        guard let target = readLink(entry.absolutePath) else {
                            problems.warn("\(entry.absolutePath.displayString): File removed before we read it")
                            return
                        }
                        link = target
                    }
                    let h = self.header(name: name, info: entry.info, link: link)
                    let readAhead = type == S_IFREG && prefetcher.readsAhead(size: Int(h.size))
                    if type == S_IFREG && !readAhead { prefetcher.adviseWillNeed(path: entry.absolutePath) }
                    add(h, path: entry.absolutePath, rel: entry.relativePath, info: entry.info, readAhead: readAhead)
                }, problem: { p in
                    switch p {
                    case .vanished(let path): problems.warn("\(path.displayString): Directory removed before we read it")
                    case .unreadable(let path, let err): problems.unreadable(path.displayString, err)
                    case .replaced(let path): problems.warn("\(path.displayString): replaced while it was read; skipped")
                    }
                })
                send()
            } catch {
                send()
                queue.push(.failed(error))
            }
            queue.close()
        }
        // Whatever ends the loop, the emitter must not stay blocked on a full queue or ring.
        defer {
            queue.close()
            while let handoff = queue.pop() {
                if case .batch(let b) = handoff, let r = b.readAhead { _ = r.contents.wait(); prefetcher.release(r) }
            }
        }

        // Names written with a body, by inode, for later names of multiply-linked files.
        var links = HardLinkTracker()

        while let handoff = queue.pop() {
            guard case .batch(let batch) = handoff else {
                if case .failed(let error) = handoff { throw error }
                continue
            }
            let contents = batch.readAhead?.contents.wait() ?? []
            defer { if let r = batch.readAhead { prefetcher.release(r) } }
            for item in batch.items {
                if let held = item.heldBy {
                    try recording?.record(item.relativePath, item.info, held)
                    continue
                }
                var header = item.header
                beforeWriting?(item.absolutePath)
                let identity = FileIdentity(item.info)
                let (device, inode) = (UInt64(item.info.st_dev), UInt64(item.info.st_ino))
                let linkCount = header.kind == .directory ? 1 : UInt64(item.info.st_nlink)
                if let target = links.target(device: device, inode: inode, linkCount: linkCount) {
                    header.kind = .hardLink
                    header.linkName = target
                    header.size = 0
                    try writer.writeHeader(header)
                    progress.add(bytes: 0, files: 1)
                    report.entries += 1
                    if !item.relativePath.isEmpty { try recording?.record(item.relativePath, item.info, nil) }
                    continue
                }
                if header.kind == .regular {
                    let loaded = item.readAheadIndex.map { contents[$0] } ?? .streamed
                    guard try writeBody(of: header, path: item.absolutePath, identity: identity, loaded: loaded,
                                        writer: writer, problems: problems) else { continue }
                    report.bytes += header.size
                    progress.add(bytes: Int(header.size), files: 1)
                } else {
                    if header.kind == .directory { header.size = 0 }
                    try writer.writeHeader(header)
                    progress.add(bytes: 0, files: 1)
                }
                links.written(device: device, inode: inode, linkCount: linkCount, name: header.name)
                report.entries += 1
                if !item.relativePath.isEmpty { try recording?.record(item.relativePath, item.info, nil) }
            }
        }
        report.unreadable = problems.unreadablePaths
        report.unreadableForPermissions = problems.onlyPermissions
        return report
    }

    /// Writes a regular file's header and body, read ahead or streamed from disk. Returns false
    /// (after a warning, or noting it unreadable) when the file is skipped: nothing was written.
    private func writeBody(of header: TarHeader, path: PathBytes, identity: FileIdentity, loaded: FileContent,
                           writer: TarWriter, problems: ProblemLog) throws -> Bool {
        switch loaded {
        case .vanished:
            problems.warn("\(path.displayString): File removed before we read it")
            return false
        case .unreadable(let err):
            problems.unreadable(path.displayString, err)
            return false
        case .replaced:
            problems.warn("\(path.displayString): replaced while it was read; skipped")
            return false
        case .loaded(let buffer, let read):
            try writer.writeHeader(header)
            let size = Int(header.size)
            try writer.writeBody(UnsafeRawBufferPointer(rebasing: buffer[0..<min(read, size)]))
            if read < size {
                problems.warn("\(path.displayString): File shrank by \(size - read) bytes; padding with zeros")
                try writeZeros(size - read, to: writer)
            } else if read > size {
                problems.warn("\(path.displayString): file changed as we read it")
            }
            return true
        case .streamed:
            let fd: Int32
            switch openWalkedFile(path, identity: identity) {
            case .opened(let opened, _): fd = opened
            case .failed(let why): return try writeBody(of: header, path: path, identity: identity, loaded: why,
                                                        writer: writer, problems: problems)
            }
            defer { close(fd) }
            try writer.writeHeader(header)
            switch try writer.writeBody(fromFileDescriptor: fd, path: path.displayString) {
            case .complete: break
            case .shrank(let got):
                problems.warn("\(path.displayString): File shrank by \(header.size - got) bytes; padding with zeros")
            case .grew:
                problems.warn("\(path.displayString): file changed as we read it")
            }
            return true
        }
    }

    /// The header for a walked entry, owner names filled in. Sockets were filtered out before.
    private func header(name: PathBytes, info st: stat, link: PathBytes) -> TarHeader {
        var h = TarHeader(name: TarPath(bytes: name), fileStatus: st, linkName: TarPath(bytes: link))!
        names.fill(&h)
        return h
    }
}

private let zeroBlock = [UInt8](repeating: 0, count: 64 * 1024)

private func writeZeros(_ count: Int, to writer: TarWriter) throws {
    var left = count
    while left > 0 {
        let n = min(left, zeroBlock.count)
        try zeroBlock.withUnsafeBytes { try writer.writeBody(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        left -= n
    }
}

/// readlink(2) without a fixed limit on the target's length.
func readLink(_ path: PathBytes) -> PathBytes? {
    var size = 256
    while true {
        var buf = [UInt8](repeating: 0, count: size)
        let n = path.withCPath { p in buf.withUnsafeMutableBytes { readlink(p, $0.baseAddress!.assumingMemoryBound(to: CChar.self), size) } }
        if n < 0 { return nil }
        if n < size { return Array(buf[0..<n]) }
        size *= 4
    }
}

/// Warnings print as they happen; unreadable paths are kept to fail the run at its end.
final class ProblemLog: @unchecked Sendable {
    private let lock = Monitor()
    private(set) var unreadablePaths: [String] = []
    /// Whether every unreadable path failed for want of permission (EACCES, EPERM), which is
    /// what Magento's message says; other errors (EIO, ENAMETOOLONG, EMFILE) get a plainer one.
    private(set) var onlyPermissions = true

    let warn: (String) -> Void

    init(warn: @escaping (String) -> Void) { self.warn = warn }

    func unreadable(_ path: String, _ err: Int32) {
        lock.lock(); defer { lock.unlock() }
        unreadablePaths.append("\(path): \(String(cString: strerror(err)))")
        if err != EACCES && err != EPERM { onlyPermissions = false }
    }
}
