import Foundation
import StreamTar

/// What a tree backup met on its way.
struct ArchiveReport {
    var entries = 0
    var bytes: Int64 = 0
    var unreadable: [String] = []
}

/// Turns a directory tree into a tar stream: walker -> prefetching readers -> bounded queue
/// -> one tar writer (this thread) -> the sink (the parallel compressor).
///
/// Entry names are `prefix` + the path relative to `base`, in the walker's sorted order.
/// Hard links after the first become link entries. A file that changes size while it is read
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

    private enum Item {
        case entry(TarHeader, absolutePath: PathBytes, content: Future<FileContent>?)
        case failed(Error)
    }

    let limits: Limits
    private let names = TarOwnerNames()

    init(limits: Limits) { self.limits = limits }

    /// Archives the tree under `base` into `writer`. `includeBase` adds an entry for `base`
    /// itself, named `prefix` (used for `pub/media`, so its own mode and mtime come back).
    func archive(base: PathBytes, prefix: PathBytes, includeBase: Bool,
                 exclude: @escaping (PathBytes, stat) -> Bool,
                 into writer: TarWriter, progress: Progress) throws -> ArchiveReport {
        var report = ArchiveReport()
        let queue = BoundedQueue<Item>(capacity: limits.queuedEntries)
        let prefetcher = FilePrefetcher(threads: limits.readerThreads, budgetBytes: limits.prefetchBytes,
                                        maxFileSize: limits.prefetchMaxFile)
        let walker = DirectoryWalker(threads: limits.walkerThreads, exclude: exclude)
        let problems = ProblemLog()

        let emitter = Thread { [self] in
            var links = HardLinkTracker()
            do {
                if includeBase {
                    var st = stat()
                    guard base.withCPath({ stat($0, &st) }) == 0 else {
                        throw CommandError("Cannot read \(base.displayString): \(String(cString: strerror(errno)))")
                    }
                    queue.push(.entry(self.header(name: prefix, info: st, link: []), absolutePath: base, content: nil))
                }
                try walker.walk(base: base, visit: { entry in
                    let name = prefix.appendingComponent(entry.relativePath)
                    let type = entry.info.st_mode & S_IFMT
                    if type == S_IFSOCK {
                        problems.warn("\(entry.absolutePath.displayString): socket ignored")
                        return
                    }
                    if type != S_IFDIR, entry.info.st_nlink > 1,
                       let target = links.linkTarget(device: UInt64(entry.info.st_dev), inode: UInt64(entry.info.st_ino),
                                                     linkCount: UInt64(entry.info.st_nlink), name: TarPath(bytes: name)) {
                        let h = self.header(name: name, info: entry.info, link: target.bytes)
                        queue.push(.entry(h, absolutePath: entry.absolutePath, content: nil))
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
                    let content = type == S_IFREG ? prefetcher.load(path: entry.absolutePath, size: Int(h.size)) : nil
                    queue.push(.entry(h, absolutePath: entry.absolutePath, content: content))
                }, problem: { p in
                    switch p {
                    case .vanished(let path): problems.warn("\(path.displayString): Directory removed before we read it")
                    case .unreadable(let path, let err): problems.unreadable(path.displayString, err)
                    }
                })
            } catch {
                queue.push(.failed(error))
            }
            queue.close()
        }
        emitter.stackSize = 4 << 20
        emitter.start()
        // Whatever ends the loop, the emitter must not stay blocked on a full queue.
        defer { queue.close(); while let item = queue.pop() { if case .entry(_, _, let c?) = item { prefetcher.release(c.wait()) } } }

        while let item = queue.pop() {
            switch item {
            case .failed(let error):
                throw error
            case .entry(var header, let path, let content):
                if let content {
                    let loaded = content.wait()
                    defer { prefetcher.release(loaded) }
                    switch loaded {
                    case .vanished:
                        problems.warn("\(path.displayString): File removed before we read it")
                        continue
                    case .unreadable(let err):
                        problems.unreadable(path.displayString, err)
                        continue
                    case .loaded(let buffer, let read, _):
                        try writer.writeHeader(header)
                        let size = Int(header.size)
                        try writer.writeBody(UnsafeRawBufferPointer(rebasing: buffer[0..<min(read, size)]))
                        if read < size {
                            problems.warn("\(path.displayString): File shrank by \(size - read) bytes; padding with zeros")
                            try writeZeros(size - read, to: writer)
                        } else if read > size {
                            problems.warn("\(path.displayString): file changed as we read it")
                        }
                    case .streamed:
                        let fd = openForReading(path)
                        if fd < 0 {
                            let err = errno
                            if err == ENOENT { problems.warn("\(path.displayString): File removed before we read it") }
                            else { problems.unreadable(path.displayString, err) }
                            continue
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
                    }
                    report.bytes += header.size
                    progress.add(bytes: Int(header.size), files: 1)
                } else {
                    if header.kind == .directory { header.size = 0 }
                    try writer.writeHeader(header)
                    progress.add(bytes: 0, files: 1)
                }
                report.entries += 1
            }
        }
        report.unreadable = problems.unreadablePaths
        return report
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
    private let lock = NSLock()
    private(set) var unreadablePaths: [String] = []

    func warn(_ text: String) { Console.warning(text) }

    func unreadable(_ path: String, _ err: Int32) {
        lock.lock(); defer { lock.unlock() }
        unreadablePaths.append("\(path): \(String(cString: strerror(err)))")
    }
}
