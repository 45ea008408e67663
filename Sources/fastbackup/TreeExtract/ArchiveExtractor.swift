import Foundation
import ThreadKit
import SystemCalls
import StreamTar

/// A failure while extracting, naming the entry and the path.
struct ExtractError: Error, CustomStringConvertible {
    let entry: String
    let path: String
    let errno: Int32?
    let message: String

    var description: String {
        var text = "Cannot extract '\(entry)' to \(path): \(message)"
        if let e = errno { text += " (\(String(cString: strerror(e))))" }
        return text
    }

    /// The file system is full (or the quota reached).
    var isOutOfSpace: Bool { errno == ENOSPC || errno == EDQUOT }
}

/// Extracts a tar stream into a directory with a pool of writer threads.
///
/// The reading thread walks the entries in order, creates directories itself, and hands each
/// small file's body (read into a block of one fixed ring) to a writer thread: creating
/// and writing many small files is the slow part of a restore. Large files are streamed by the
/// reading thread.
///
/// Nothing is ever written through a symlink: symlinks are created only after every file and
/// hard link is in place, an entry below a symlink of the same archive is refused, and
/// directory metadata is applied last through descriptors opened component by component with
/// O_NOFOLLOW (deepest first, so writing into a directory does not disturb its mtime). A later
/// entry of the same name replaces an earlier one, as with GNU tar.
///
/// Bounds: `writerThreads` descriptors open at once for writing, `bufferBytes` of bodies held in
/// one ring allocated up front (each queued file takes at least 512 bytes of it, so a flood of
/// empty files is bounded too). The ring, rather than a buffer per file, because a fresh
/// allocation per file cost page faults and zeroing on every one: 4.4% of a cache-media
/// rollback's CPU.
final class ArchiveExtractor {
    /// Bytes each queued file is charged against ``Options/bufferBytes`` at least, so a flood
    /// of empty files is bounded too.
    static let minimumCharge = 512

    struct Options {
        var writerThreads = 2
        var bufferBytes = 64 << 20
        var smallFileMax = 4 << 20
        /// Entries must sit below this path, which is stripped (`pub/media` for media archives).
        var requiredPrefix: PathBytes?
        /// Paths (after stripping) that are skipped, such as a code archive's excluded folders.
        var skip: (PathBytes) -> Bool = { _ in false }
        /// The first path (after stripping) at which extraction stops, the rest of the stream
        /// unread: a partial restore from an indexed archive stops past the subtree it wants.
        var stop: ((PathBytes) -> Bool)?
        /// Replace what is already at a path (extracting over a live tree).
        var replaceExisting = false
        /// Paths (relative to the base) that must survive whatever the archive holds: over a
        /// live tree, the folders a code rollback leaves alone (`pub/media`) and the archive
        /// itself. Replacing one of them, or a folder holding one (`pub` by a file), is refused.
        var protectedPaths: [PathBytes] = []
        /// A small file the backup wrote about itself (the code manifest): read into the
        /// report instead of being written out.
        var manifestPath: PathBytes?
        /// The largest such file read into the report; a larger one is extracted as content.
        var manifestMaximumSize: Int64 = 1 << 20
        /// The tree record a backup writes last (TreeRecord): read by the chain's own readers,
        /// never restored as a file. Compared with the entry's name as archived.
        var recordEntry: PathBytes? = PathBytes(path: TreeRecord.archivePath)
        /// Told of every entry handled (bytes of regular files), for the progress line.
        var progress: ProgressReporting?
        /// Where skipped entries and owners that could not be set are reported.
        var diagnostics: Diagnostics = .standardError
    }

    struct Report {
        var files = 0, directories = 0, symlinks = 0, hardLinks = 0, skipped = 0
        var bytes: Int64 = 0
        var manifest: [UInt8]?
    }

    private struct PendingSymlink {
        let rel: PathBytes
        let header: TarHeader
    }

    private let options: Options
    private let isRoot = geteuid() == 0
    private let fileSizeLimit = ResourceLimits.current.fileSize
    private let pool: WorkerPool
    private let ring: BufferRing
    private let group = DispatchGroup()
    private let lock = Monitor()
    private var firstError: Error?
    /// Paths a writer thread has queued or is writing; a second entry of the same name waits.
    private var inFlight = Set<PathKey>()
    /// `options.protectedPaths` below the base being extracted into (set by `extract`).
    private var protectedAbsolute: [PathBytes] = []
    private var ownerFailures = 0
    private var firstOwnerFailure: String?
    /// Owner, group and umask a file created in the staging folder gets (nil over a live tree,
    /// where a folder may carry another group or setgid): with them the metadata step needs no
    /// fstat per file (20,000 system calls on the code tree).
    private var created: (uid: uid_t, gid: gid_t, umask: mode_t)?

    init(options: Options) throws {
        self.options = options
        pool = try WorkerPool(threads: options.writerThreads, name: "writer")
        ring = BufferRing(capacity: max(options.bufferBytes, options.smallFileMax, Self.minimumCharge))
    }

    deinit { pool.shutdown() }

    /// What one `extract` call has made so far, for the entries after.
    private var base: PathBytes = []
    private var report = Report()
    private var policy = EntryPathPolicy()
    /// Folders with their headers, for the metadata pass at the end.
    private var directories: [(rel: PathBytes, header: TarHeader)] = []
    /// Symlinks wait until every file is in (nothing is ever written through one); a later
    /// entry of the same name cancels one.
    private var symlinks: [PendingSymlink?] = []
    private var symlinkIndex: [PathKey: Int] = [:]
    private var knownDirs = Set<PathKey>()

    /// Extracts every entry from `reader` below `base` (which must exist). Throws the first
    /// error met, by this thread or a writer; what was written stays for the caller to remove.
    func extract(from reader: TarReader, into base: PathBytes) throws -> Report {
        self.base = base
        protectedAbsolute = options.protectedPaths.map { base.appendingComponent($0) }
        created = options.replaceExisting ? nil : Self.creationIdentity(base)
        report = Report()
        policy = EntryPathPolicy()
        directories = []
        symlinks = []
        symlinkIndex = [:]
        knownDirs = [PathKey([])]
        defer { group.wait() }

        while let header = try reader.next() {
            try throwWorkerError()
            let entryName = header.name.bytes
            if entryName == options.recordEntry, header.kind == .regular { continue }
            guard let rel = try place(header, entry: entryName) else { continue }
            if rel == options.manifestPath, header.kind == .regular, header.size <= options.manifestMaximumSize {
                report.manifest = try reader.readWholeBody(size: Int(header.size))
                continue
            }
            if let stop = options.stop, stop(rel) { break }
            if options.skip(rel) { report.skipped += 1; continue }
            try policy.checkNotThroughSymlink(rel, entry: entryName)
            let path = base.appendingComponent(rel)
            try makeParents(of: rel, base: base, known: &knownDirs, entry: entryName)
            if isInFlight(rel) { group.wait() }

            switch header.kind {
            case .directory: try directory(header, rel: rel, path: path, entry: entryName)
            case .regular: try regularFile(header, rel: rel, path: path, entry: entryName, reader: reader)
            case .symbolicLink: try symbolicLink(header, rel: rel, entry: entryName)
            case .hardLink: try hardLink(header, rel: rel, entry: entryName)
            case .fifo, .characterDevice, .blockDevice:
                options.diagnostics.warning("\(entryName.displayString): device nodes and FIFOs are not restored; skipped")
            case .other(UInt8(ascii: "V")):
                break   // a volume label: a name for the archive, no file
            case .other(let flag):
                // Skipping it would restore a tree without this file, and the swap would then
                // delete the live one: refuse (nothing was changed yet).
                let what = flag == UInt8(ascii: "S") ? "a GNU sparse file (tar -S)" : "of tar type '\(String(decoding: [flag], as: UTF8.self))'"
                throw ExtractError(entry: entryName.displayString, path: path.displayString, errno: nil,
                                   message: "it is \(what), which fastbackup does not restore; extract this archive with GNU tar instead")
            }
        }
        group.wait()
        try throwWorkerError()

        for case let link? in symlinks {
            try createSymlink(link.header, path: base.appendingComponent(link.rel), entry: link.header.name.bytes)
        }
        try DirectoryMetadataWalk().run(directories, base: base) { fd, header, rel in
            try applyMetadata(header, path: base.appendingComponent(rel), entry: header.name.bytes, fd: fd)
        }
        if let first = firstOwnerFailure {
            options.diagnostics.warning("could not set the owner of \(ownerFailures) restored entries, which keep the owner \(geteuid()):\(getegid()); the first: \(first)")
        }
        return report
    }

    // MARK: - One handler per entry kind

    /// The entry's path relative to the base (normalised, the required prefix stripped), or nil
    /// for an entry that is not content (`.`, the prefix's own parents, the base itself).
    private func place(_ header: TarHeader, entry entryName: PathBytes) throws -> PathBytes? {
        guard var rel = try policy.normalise(entryName) else { return nil }
        if let prefix = options.requiredPrefix {
            guard let stripped = rel.relative(to: prefix) else {
                // Archivers that write the parents of the prefix first (Magento's writes `pub/`
                // before `pub/media/`) give entries that are not content.
                if header.kind == .directory, prefix.isBelow(rel) { return nil }
                throw UnsafeArchiveError(entry: entryName.displayString, reason: "is outside \(prefix.displayString)")
            }
            rel = stripped
        }
        if rel.isEmpty {
            if header.kind == .directory { directories.append(([], header)) }
            return nil
        }
        return rel
    }

    private func directory(_ header: TarHeader, rel: PathBytes, path: PathBytes, entry entryName: PathBytes) throws {
        cancelSymlink(rel)
        if !knownDirs.contains(PathKey(rel)) {
            // Made with its own permissions (owner rwx kept until the metadata pass), so that
            // pass rarely needs a chmod; mkdir first, as in a fresh staging folder nothing is
            // there yet.
            let mode = mode_t(Int(header.mode) & 0o777 | 0o700)
            if path.withCPath({ mkdir($0, mode) }) != 0 {
                let err = errno
                var st = stat()
                guard err == EEXIST, path.withCPath({ lstat($0, &st) }) == 0 else {
                    throw ExtractError(entry: entryName.displayString, path: path.displayString, errno: err, message: "cannot create directory")
                }
                if (st.st_mode & S_IFMT) != S_IFDIR {
                    try replace(path, entry: entryName)
                    guard path.withCPath({ mkdir($0, mode) }) == 0 else {
                        throw ExtractError(entry: entryName.displayString, path: path.displayString, errno: errno, message: "cannot create directory")
                    }
                }
            }
            knownDirs.insert(PathKey(rel))
        }
        directories.append((rel, header))
        report.directories += 1
    }

    private func regularFile(_ header: TarHeader, rel: PathBytes, path: PathBytes, entry entryName: PathBytes, reader: TarReader) throws {
        if let limit = fileSizeLimit, header.size > limit {
            throw ExtractError(entry: entryName.displayString, path: path.displayString, errno: EFBIG,
                               message: "the file is \(header.size) bytes, more than the file size limit of \(limit) bytes (ulimit -f)")
        }
        cancelSymlink(rel)
        try clearDirectory(rel, entry: entryName)
        try writeFile(header, rel: rel, path: path, entry: entryName, reader: reader)
        report.files += 1
        report.bytes += header.size
        // Counted as the tar stream holds it (header and padded body), so that the total, the
        // archive's expanded size, is reached at the end.
        options.progress?.add(bytes: Int((header.size + 511) / 512 * 512) + 512, files: 1)
    }

    private func symbolicLink(_ header: TarHeader, rel: PathBytes, entry entryName: PathBytes) throws {
        try EntryPathPolicy.checkNoNUL(header.linkName.bytes, entry: entryName)
        cancelSymlink(rel)
        symlinkIndex[PathKey(rel)] = symlinks.count
        symlinks.append(PendingSymlink(rel: rel, header: header))
        policy.recordSymlink(rel)
        report.symlinks += 1
    }

    private func hardLink(_ header: TarHeader, rel: PathBytes, entry entryName: PathBytes) throws {
        guard var target = try policy.normalise(header.linkName.bytes) else {
            throw UnsafeArchiveError(entry: entryName.displayString, reason: "is a hard link with an empty target")
        }
        if let prefix = options.requiredPrefix {
            guard let t = target.relative(to: prefix) else {
                throw UnsafeArchiveError(entry: entryName.displayString, reason: "links to '\(target.displayString)', outside \(prefix.displayString)")
            }
            target = t
        }
        try policy.checkNotThroughSymlink(target, entry: entryName)
        if symlinkIndex[PathKey(target)] != nil {
            throw UnsafeArchiveError(entry: entryName.displayString, reason: "is a hard link to the symlink '\(target.displayString)'")
        }
        cancelSymlink(rel)
        try clearDirectory(rel, entry: entryName)
        // Linked here, at the entry's place in the archive, as GNU tar does: to the target as it
        // is now (a later entry of the target's name replaces the target, not what the link
        // holds), and a later entry of the link's name replaces the link.
        if isInFlight(target) { group.wait() }
        try makeHardLink(target: target, rel: rel, base: base, entry: entryName)
        report.hardLinks += 1
    }

    /// A later entry at `rel` replaces a symlink still waiting to be created.
    private func cancelSymlink(_ rel: PathBytes) {
        if let i = symlinkIndex.removeValue(forKey: PathKey(rel)) {
            symlinks[i] = nil
            policy.forget(rel)
        }
    }

    /// Removes what is at `rel` when it is a directory we made (writers may still be inside it).
    private func clearDirectory(_ rel: PathBytes, entry: PathBytes) throws {
        guard knownDirs.contains(PathKey(rel)) else { return }
        group.wait()
        try replace(base.appendingComponent(rel), entry: entry)
        knownDirs = knownDirs.filter { k in
            let d = k.bytes
            return !d.isAtOrBelow(rel)
        }
    }

    private func isInFlight(_ rel: PathBytes) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return inFlight.contains(PathKey(rel))
    }

    /// Creates missing parent directories; an existing parent must be a real directory, and one
    /// that is a file of this archive is refused, as GNU tar does ("Not a directory").
    private func makeParents(of rel: PathBytes, base: PathBytes, known: inout Set<PathKey>, entry: PathBytes) throws {
        guard let slash = rel.lastIndex(of: UInt8(ascii: "/")) else { return }
        let parent = Array(rel[..<slash])
        if known.contains(PathKey(parent)) { return }
        try makeParents(of: parent, base: base, known: &known, entry: entry)
        // A file of that name still queued for a writer would otherwise come after this mkdir,
        // find a directory and replace it, dropping the entries below it without an error.
        if isInFlight(parent) { group.wait() }
        let path = base.appendingComponent(parent)
        if path.withCPath({ mkdir($0, 0o755) }) != 0 {
            let err = errno
            var st = stat()
            guard err == EEXIST, path.withCPath({ lstat($0, &st) }) == 0 else {
                throw ExtractError(entry: entry.displayString, path: path.displayString, errno: err, message: "cannot create directory")
            }
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw UnsafeArchiveError(entry: entry.displayString, reason: "would be written through '\(parent.displayString)', which is not a directory")
            }
        }
        known.insert(PathKey(parent))
    }

    /// No symlink of this archive exists yet (they are made last), but over a live tree
    /// (`--in-place`) a folder on the way to the target may be a live symlink: link(2) would follow
    /// it out of the store, so every folder above the target must be a real one.
    private func makeHardLink(target: PathBytes, rel: PathBytes, base: PathBytes, entry: PathBytes) throws {
        let targetPath = base.appendingComponent(target)
        let path = base.appendingComponent(rel)
        var i = 0
        while let slash = target[i...].firstIndex(of: UInt8(ascii: "/")) {
            let folder = Array(target[..<slash])
            var st = stat()
            if base.appendingComponent(folder).withCPath({ lstat($0, &st) }) == 0 && (st.st_mode & S_IFMT) != S_IFDIR {
                throw UnsafeArchiveError(entry: entry.displayString, reason: "links to '\(target.displayString)' through '\(folder.displayString)', which is not a folder")
            }
            i = slash + 1
        }
        func makeLink() -> Int32 { path.withCPath { p in targetPath.withCPath { Glibc.link($0, p) } } == 0 ? 0 : errno }
        var err = makeLink()
        if err == EEXIST {
            try replace(path, entry: entry)
            err = makeLink()
        }
        if err != 0 {
            throw ExtractError(entry: entry.displayString, path: path.displayString, errno: err,
                               message: "cannot link to '\(target.displayString)'")
        }
    }

    private func replace(_ path: PathBytes, entry: PathBytes) throws {
        for p in protectedAbsolute where p.isAtOrBelow(path) {
            throw UnsafeArchiveError(entry: entry.displayString, reason: "would replace \(path.displayString), which holds \(p.displayString), left alone by this rollback")
        }
        if let err = TreeRemover.remove(path, diagnostics: options.diagnostics) {
            throw ExtractError(entry: entry.displayString, path: path.displayString, errno: err, message: "cannot replace the existing entry")
        }
    }

    private func createSymlink(_ header: TarHeader, path: PathBytes, entry: PathBytes) throws {
        var rc = path.withCPath { p in header.linkName.bytes.withCPath { symlink($0, p) } }
        if rc != 0 && errno == EEXIST {
            try replace(path, entry: entry)
            rc = path.withCPath { p in header.linkName.bytes.withCPath { symlink($0, p) } }
        }
        guard rc == 0 else {
            throw ExtractError(entry: entry.displayString, path: path.displayString, errno: errno, message: "cannot create symlink")
        }
        if isRoot, path.withCPath({ lchown($0, uid_t(header.uid), gid_t(header.gid)) }) != 0 {
            noteOwnerFailure(path, uid: header.uid, gid: header.gid, errno: errno)
        }
        var times = [timespec(tv_sec: Int(header.modificationTime.seconds), tv_nsec: Int(header.modificationTime.nanoseconds)),
                     timespec(tv_sec: Int(header.modificationTime.seconds), tv_nsec: Int(header.modificationTime.nanoseconds))]
        _ = path.withCPath { utimensat(AT_FDCWD, $0, &times, AT_SYMLINK_NOFOLLOW) }
    }

    private func writeFile(_ header: TarHeader, rel: PathBytes, path: PathBytes, entry: PathBytes, reader: TarReader) throws {
        let size = Int(header.size)
        if size <= options.smallFileMax {
            let block = ring.take(max(size, Self.minimumCharge))
            let buffer = ring.buffer(block)
            var filled = 0
            do {
                while filled < size {
                    let n = try reader.readBody(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<size]))
                    if n == 0 { throw ExtractError(entry: entry.displayString, path: path.displayString, errno: nil, message: "the archive ends inside this entry") }
                    filled += n
                }
            } catch {
                ring.give(block)
                throw error
            }
            group.enter()
            let key = PathKey(rel)
            lock.lock(); inFlight.insert(key); lock.unlock()
            pool.submit { [self] in
                defer {
                    ring.give(block)
                    lock.lock(); inFlight.remove(key); lock.unlock()
                    group.leave()
                }
                do {
                    let fd = try create(path, entry: entry, mode: Int(header.mode))
                    defer { close(fd) }
                    try writeAll(fd, UnsafeRawBufferPointer(rebasing: buffer[0..<size]), path: path, entry: entry)
                    try applyMetadata(header, path: path, entry: entry, fd: fd, new: true)
                } catch {
                    record(error)
                }
            }
        } else {
            let fd = try create(path, entry: entry, mode: Int(header.mode))
            defer { close(fd) }
            let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { chunk.deallocate() }
            var left = size
            while left > 0 {
                let n = try reader.readBody(into: UnsafeMutableRawBufferPointer(rebasing: chunk[0..<min(chunk.count, left)]))
                if n == 0 { throw ExtractError(entry: entry.displayString, path: path.displayString, errno: nil, message: "the archive ends inside this entry") }
                try writeAll(fd, UnsafeRawBufferPointer(rebasing: chunk[0..<n]), path: path, entry: entry)
                left -= n
            }
            try applyMetadata(header, path: path, entry: entry, fd: fd, new: true)
        }
    }

    /// Creates the file with its permission bits from the archive (less the umask), so that in
    /// the usual case no fchmod follows. The staging folder is 0700: nobody else sees the file
    /// before it is complete.
    private func create(_ path: PathBytes, entry: PathBytes, mode: Int) throws -> Int32 {
        let flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC
        let permissions = mode_t(mode & 0o777)
        var fd = path.withCPath { open($0, flags, permissions) }
        if fd < 0 && errno == EEXIST {
            try replace(path, entry: entry)
            fd = path.withCPath { open($0, flags, permissions) }
        }
        guard fd >= 0 else {
            throw ExtractError(entry: entry.displayString, path: path.displayString, errno: errno, message: "cannot create file")
        }
        return fd
    }

    private func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: PathBytes, entry: PathBytes) throws {
        do { try FileDescriptor(rawValue: fd).writeAll(bytes) }
        catch { throw ExtractError(entry: entry.displayString, path: path.displayString, errno: error.rawValue, message: "cannot write") }
    }

    /// Owner (as root), then mode (chown clears setuid, so it comes first), then times, on the
    /// open file or folder. setuid and setgid bits are kept only when running as root. Owner and mode
    /// are only changed when they differ: each change is a journaled inode update, and a file
    /// created by its owner with its mode already has both (20,000-file code rollback:
    /// 52,934 fchown and fchmod calls before).
    /// `new`: the file was just created by ``create(_:entry:mode:)``, so its owner and mode are
    /// known without asking (see ``created``).
    private func applyMetadata(_ header: TarHeader, path: PathBytes, entry: PathBytes, fd: Int32, new: Bool = false) throws {
        let mode = mode_t(isRoot ? header.mode & 0o7777 : header.mode & 0o1777)
        let time = timespec(tv_sec: Int(header.modificationTime.seconds), tv_nsec: Int(header.modificationTime.nanoseconds))
        var times = (time, time)
        var st = stat()
        let known: Bool
        if new, let c = created {
            st.st_uid = c.uid
            st.st_gid = c.gid
            st.st_mode = S_IFREG | (mode_t(header.mode) & 0o777 & ~c.umask)
            known = true
        } else {
            known = fstat(fd, &st) == 0
        }
        if isRoot && (!known || st.st_uid != uid_t(header.uid) || st.st_gid != gid_t(header.gid)) {
            if fchown(fd, uid_t(header.uid), gid_t(header.gid)) != 0 {
                noteOwnerFailure(path, uid: header.uid, gid: header.gid, errno: errno)
            }
            st.st_mode = ~0   // chown may have cleared bits: set the mode again
        }
        if (!known || st.st_mode & 0o7777 != mode) && fchmod(fd, mode) != 0 {
            throw ExtractError(entry: entry.displayString, path: path.displayString, errno: errno, message: "cannot set mode and times")
        }
        let timesSet = withUnsafePointer(to: &times) { $0.withMemoryRebound(to: timespec.self, capacity: 2) { futimens(fd, $0) } }
        if timesSet != 0 {
            throw ExtractError(entry: entry.displayString, path: path.displayString, errno: errno, message: "cannot set mode and times")
        }
    }

    /// What a file created below `base` gets: the effective uid, the group `base` hands down
    /// (its own: a folder made by this process has the effective gid unless a setgid parent or a
    /// `grpid` mount gave it another, and then its files get that one too), and the umask (read
    /// from /proc, as umask(2) cannot read it without changing it for every thread). Nil when
    /// `base` has a default ACL (which replaces the umask), or when a probe file created there
    /// does not come out as predicted (an NFS export mapping root to nobody, a filesystem that
    /// forces modes or owners): then each file is asked.
    private static func creationIdentity(_ base: PathBytes) -> (uid: uid_t, gid: gid_t, umask: mode_t)? {
        var st = stat()
        let acl = base.withCPath { c_getxattr($0, "system.posix_acl_default", nil, 0) }
        guard acl < 0, errno == ENODATA || errno == ENOTSUP else { return nil }
        guard base.withCPath({ stat($0, &st) }) == 0,
              let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Umask:") }),
              let mask = mode_t(line.dropFirst(6).trimmingCharacters(in: .whitespaces), radix: 8)
        else { return nil }
        let predicted = (uid: geteuid(), gid: st.st_gid, umask: mask)
        let probe = base.appendingComponent(InternalNames.probe(pid: getpid()))
        let fd = probe.withCPath { open($0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o664) }
        guard fd >= 0 else { return nil }
        var made = stat()
        let ok = fstat(fd, &made) == 0 && made.st_uid == predicted.uid && made.st_gid == predicted.gid
            && made.st_mode & 0o7777 == 0o664 & ~mask
        close(fd)
        _ = probe.withCPath { unlink($0) }
        return ok ? predicted : nil
    }

    /// Owners that could not be set as root (an NFS export with root_squash, a user namespace
    /// without that id): the files are right and the swap goes ahead, as GNU tar extracts them,
    /// but the run says so once, with the count and the first case.
    private func noteOwnerFailure(_ path: PathBytes, uid: Int, gid: Int, errno err: Int32) {
        lock.lock(); defer { lock.unlock() }
        ownerFailures += 1
        if firstOwnerFailure == nil {
            firstOwnerFailure = "\(path.displayString) (\(uid):\(gid)): \(String(cString: strerror(err)))"
        }
    }

    private func record(_ error: Error) {
        lock.lock(); defer { lock.unlock() }
        if firstError == nil { firstError = error }
    }

    private func throwWorkerError() throws {
        lock.lock(); defer { lock.unlock() }
        if let e = firstError { throw e }
    }
}

/// getxattr(2), which Glibc's module map leaves out (sys/xattr.h).
@_silgen_name("getxattr")
private func c_getxattr(_ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>, _ value: UnsafeMutableRawPointer?, _ size: Int) -> Int
