import Foundation
import StreamTar
import XCTest
@testable import fastbackup
import TestSupport

/// Backup-side safety of the read pipeline: bounded memory on many small folders, hard links
/// whose first name vanished, files and folders swapped while the tree is read.
final class BackupSafetyTests: XCTestCase {
    // MARK: memory

    /// 800 folders of 300 empty files (made by python3 at test time): peak RSS of a code backup,
    /// measured by GNU time, stays under 100 MB. The listings read ahead are budgeted (64k
    /// entries, about 13 MB); the rest is the compressor's pool on huge pages (ParallelGzip's
    /// PoolMemory), the read-ahead ring's touched pages and the runtime: 84 MB for 200 such
    /// folders, 91 MB for 800. While each job of sibling listings held a slice of the parent's
    /// whole list, every sibling's listing stayed alive until the parent's last job had run:
    /// 103-112 MB here, growing with the number of subfolders.
    func testCodeBackupMemoryStaysBoundedOnManySmallFolders() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else {
            throw XCTSkip("GNU time is not installed: apt-get install time")
        }
        try requireTool("python3")
        let t = try TempTree("many")
        try sh("""
            cd '\(t.path)' && mkdir -p app/etc var pub/media && python3 -c '
            import os
            for d in range(800):
                p = "app/d%04d" % d; os.mkdir(p)
                for f in range(300): open(p + "/f%03d" % f, "w").close()
            '
            """)
        let r = try runProcess(["/usr/bin/time", "-f", "maxrss_kb=%M", fastbackupBinary, "setup:backup", "--code",
                                "--no-maintenance", "--jobs", "2", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = try XCTUnwrap(r.stderr.split(separator: "\n").last { $0.hasPrefix("maxrss_kb=") }, r.stderr)
        let kb = try XCTUnwrap(Int(line.dropFirst("maxrss_kb=".count)))
        XCTAssertLessThan(kb, 100_000, "peak RSS \(kb) kB on 240k empty files")
    }

    // MARK: files and folders swapped while read

    /// A folder swapped for a symlink, or for another folder, after its parent was listed is
    /// not read: the walker reports it replaced and emits nothing from where it now points.
    func testWalkerDoesNotEnterAFolderSwappedAfterItWasListed() throws {
        for swapIn in ["symlink", "directory"] {
            let t = try TempTree("walk")
            try t.file("base/a/inner.txt", "inside")
            try t.file("base/z.txt", "after")
            try t.file("outside/secret.txt", "secret")
            // No read-ahead: the folder is listed only when the walk reaches it, after the swap.
            let walker = try DirectoryWalker(threads: 1, maxPrefetched: 0, exclude: { _, _ in false })
            var seen: [String] = []
            var replaced: [String] = []
            try walker.walk(base: PathBytes(path: t.path + "/base"), visit: { e in
                seen.append(e.relativePath.displayString)
                if e.relativePath.displayString == "a" {
                    XCTAssertEqual(rename(t.path + "/base/a", t.path + "/a-old"), 0)
                    if swapIn == "symlink" {
                        XCTAssertEqual(symlink(t.path + "/outside", t.path + "/base/a"), 0)
                    } else {
                        XCTAssertEqual(rename(t.path + "/outside", t.path + "/base/a"), 0)
                    }
                }
            }, problem: { p in
                if case .replaced(let path) = p { replaced.append(path.displayString) }
            })
            XCTAssertEqual(seen, ["a", "z.txt"], swapIn)
            XCTAssertEqual(replaced, [t.path + "/base/a"], swapIn)
        }
    }

    /// A file whose path names another file by the time it is opened (read ahead or streamed)
    /// is skipped with a warning, never archived under the walked name.
    func testFileReplacedBeforeItIsReadIsSkipped() throws {
        try requireTool("tar")
        for prefetchMaxFile in [0, 1 << 20] {
            let t = try TempTree("swap")
            try t.file("base/a.txt", "original")
            try t.file("base/b.txt", "kept")
            try t.file("other.txt", "not the walked file")
            let archive = try archiveTree(t.path + "/base", prefetchMaxFile: prefetchMaxFile, beforeWalkEntry: { rel in
                // The emitter queues (and may start reading) a.txt right after this.
                if rel == "a.txt" { XCTAssertEqual(rename(t.path + "/other.txt", t.path + "/base/a.txt"), 0) }
            })
            let listing = try sh("tar -tf '\(archive)'")
            XCTAssertEqual(listing, "b.txt\n", "prefetchMaxFile \(prefetchMaxFile)")
        }
    }

    /// A file swapped for a FIFO after the walk saw it: opening the FIFO for reading waited for a
    /// writer, forever, with the store in maintenance mode. The open does not block now, and the
    /// identity check skips it. The archive runs on a thread so a regression fails in 30 s
    /// instead of hanging the suite.
    func testFileSwappedForAFIFOIsSkippedWithoutWaiting() throws {
        for prefetchMaxFile in [0, 1 << 20] {
            let t = try TempTree("fifo")
            try t.file("base/a.txt", "original")
            try t.file("base/b.txt", "kept")
            final class Outcome: @unchecked Sendable { var listing = ""; var failure: Error? }
            let done = DispatchSemaphore(value: 0)
            let outcome = Outcome()
            Thread {
                do {
                    let archive = try self.archiveTree(t.path + "/base", prefetchMaxFile: prefetchMaxFile, beforeWalkEntry: { rel in
                        if rel == "a.txt" { unlink(t.path + "/base/a.txt"); mkfifo(t.path + "/base/a.txt", 0o644) }
                    })
                    outcome.listing = try sh("tar -tf '\(archive)'")
                } catch { outcome.failure = error }
                done.signal()
            }.start()
            guard done.wait(timeout: .now() + 30) == .success else {
                XCTFail("prefetchMaxFile \(prefetchMaxFile): still waiting on the FIFO after 30 s")
                // Unblock the stuck open so the thread can end.
                let fd = open(t.path + "/base/a.txt", O_WRONLY | O_NONBLOCK)
                if fd >= 0 { close(fd) }
                return
            }
            XCTAssertNil(outcome.failure)
            XCTAssertEqual(outcome.listing, "b.txt\n", "prefetchMaxFile \(prefetchMaxFile)")
        }
    }

    /// A folder that can be listed but not searched (mode 0644 for its owner): its files cannot
    /// be stat'ed, and were left out without a word. The run now fails naming them, as GNU tar
    /// does ("Cannot stat: Permission denied"). Run as an unprivileged user (root bypasses the
    /// mode); skips when that is not possible.
    func testUnsearchableFolderFailsTheRun() throws {
        guard geteuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("needs root and setpriv(1) to run the backup as another user")
        }
        let t = try TempTree("noexec")
        try t.file("app/noexec/file1", "secret")
        try t.file("app/ok.php", "<?php")
        try t.dir("var")
        try sh("chmod 0755 '\(t.path)' && chown -R 65534:65534 '\(t.path)' && chmod 0644 '\(t.path)/app/noexec'")
        let r = try runProcess(["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                fastbackupBinary, "setup:backup", "--code", "--root", t.path, "--no-maintenance"])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stderr.contains("Not enough permissions to read files for backup"), r.stderr)
        XCTAssertTrue(r.stderr.contains("noexec/file1"), r.stderr)
        let left = try FileManager.default.contentsOfDirectory(atPath: t.path + "/var/backups")
        XCTAssertEqual(left, [], "no file may look like a finished backup")
    }

    /// The read-ahead path checks the descriptor's identity too.
    func testPrefetchReadRefusesAnotherFile() throws {
        let t = try TempTree("ident")
        try t.file("a", "one")
        try t.file("b", "two")
        var st = stat()
        XCTAssertEqual(lstat(t.path + "/a", &st), 0)
        XCTAssertEqual(rename(t.path + "/b", t.path + "/a"), 0)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 8, alignment: 1)
        defer { buffer.deallocate() }
        guard case .replaced = FilePrefetcher.read(path: PathBytes(path: t.path + "/a"), into: buffer, identity: FileIdentity(st)) else {
            return XCTFail("a file swapped in was read as the walked one")
        }
    }

    // MARK: hard links

    /// The first name of a hard-linked file vanishes before it is read: the next name carries
    /// the body and later names link to it, so GNU tar extracts every surviving name.
    func testHardLinkWhoseFirstNameVanishedIsStoredUnderTheNextName() throws {
        try requireTool("tar")
        let t = try TempTree("links")
        try t.file("base/a/1", "linked body\n")
        try sh("cd '\(t.path)/base' && mkdir b c && ln a/1 b/1 && ln a/1 c/1")
        // Streamed bodies are opened by the writer, so removing the first name just before the
        // writer reaches it is exact.
        let archive = try archiveTree(t.path + "/base", prefetchMaxFile: 0, beforeWrite: { path in
            if path.displayString.hasSuffix("/a/1") { unlink(path.displayString) }
        })
        let verbose = try sh("tar -tvf '\(archive)'")
        XCTAssertFalse(verbose.contains(" a/1"), verbose)
        XCTAssertTrue(verbose.contains("c/1 link to b/1"), verbose)
        let out = try TempTree("links-out")
        try sh("tar -xf '\(archive)' -C '\(out.path)'")
        XCTAssertEqual(try String(contentsOfFile: out.path + "/b/1", encoding: .utf8), "linked body\n")
        XCTAssertEqual(try String(contentsOfFile: out.path + "/c/1", encoding: .utf8), "linked body\n")
    }

    /// Files removed after the walk listed them and before the readers read them, several in
    /// one batch and one on each side of a batch boundary (64 entries): each is skipped with a
    /// warning, and every other file of the batch keeps its own body.
    func testFilesVanishingBetweenWalkAndReadInsideBatches() throws {
        try requireTool("tar")
        let t = try TempTree("vanish")
        for i in 0..<200 { try t.file(String(format: "base/f%03d", i), "body of \(i)\n") }
        let doomed: Set<Int> = [0, 7, 14, 62, 63, 64, 65, 127, 128, 199]
        let archive = try archiveTree(t.path + "/base", prefetchMaxFile: 1 << 20, beforeWalkEntry: { rel in
            if let n = Int(rel.dropFirst()), doomed.contains(n) { unlink(t.path + "/base/" + rel) }
        })
        let names = try sh("tar -tf '\(archive)'").split(separator: "\n").map(String.init)
        XCTAssertEqual(names, (0..<200).filter { !doomed.contains($0) }.map { String(format: "f%03d", $0) })
        let out = try TempTree("vanish-out")
        try sh("tar -xf '\(archive)' -C '\(out.path)'")
        for i in 0..<200 where !doomed.contains(i) {
            XCTAssertEqual(try String(contentsOfFile: out.path + String(format: "/f%03d", i), encoding: .utf8), "body of \(i)\n")
        }
    }

    /// Untouched hard links still become link entries to the first name.
    func testHardLinksStayLinks() throws {
        try requireTool("tar")
        let t = try TempTree("links2")
        try t.file("base/a/1", "body\n")
        try sh("cd '\(t.path)/base' && mkdir b && ln a/1 b/1")
        for prefetchMaxFile in [0, 1 << 20] {
            let archive = try archiveTree(t.path + "/base", prefetchMaxFile: prefetchMaxFile)
            XCTAssertTrue(try sh("tar -tvf '\(archive)'").contains("b/1 link to a/1"))
        }
    }

    // MARK: helpers

    /// Archives `base` with the real pipeline into an uncompressed tar file and returns its path.
    /// `beforeWalkEntry` runs on the emitter as each entry's name is checked against the
    /// exclusions; `beforeWrite` runs on the writer thread before each entry.
    private func archiveTree(_ base: String, prefetchMaxFile: Int, beforeWalkEntry: ((String) -> Void)? = nil,
                             beforeWrite: ((PathBytes) -> Void)? = nil) throws -> String {
        final class FileSink: TarByteSink {
            let fd: Int32
            init(_ path: String) { fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
            func write(_ bytes: UnsafeRawBufferPointer) throws {
                guard Glibc.write(fd, bytes.baseAddress, bytes.count) == bytes.count else { throw POSIXError(.EIO) }
            }
            deinit { close(fd) }
        }
        let out = (base as NSString).deletingLastPathComponent + "/archive-\(prefetchMaxFile).tar"
        let sink = FileSink(out)
        let writer = TarWriter(sink: sink)
        let archiver = TreeArchiver(limits: .init(walkerThreads: 1, readerThreads: 1, prefetchBytes: 1 << 20,
                                                  prefetchMaxFile: prefetchMaxFile, queuedEntries: 1))
        archiver.beforeWriting = beforeWrite
        _ = try archiver.archive(base: PathBytes(path: base), prefix: [], includeBase: false, exclude: { rel, _ in
            beforeWalkEntry?(rel.displayString)
            return false
        }, into: writer, progress: Progress())
        try writer.finish()
        return out
    }
}
