import Foundation
import XCTest
@testable import StreamTar
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

// MARK: - In-memory byte streams

/// Collects everything written to it.
final class MemorySink: TarByteSink {
    var bytes: [UInt8] = []
    func write(_ chunk: UnsafeRawBufferPointer) throws { bytes.append(contentsOf: chunk) }
}

/// Serves a byte array in pieces of at most `chunk` bytes, so readers see short reads.
final class MemorySource: TarByteSource {
    let bytes: [UInt8]
    var position = 0
    let chunk: Int
    init(_ bytes: [UInt8], chunk: Int = Int.max) {
        self.bytes = bytes
        self.chunk = chunk
    }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = min(buffer.count, bytes.count - position, chunk)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + position, byteCount: n) }
        position += n
        return n
    }
}

/// One entry read back: its header and whole body (test inputs are small).
struct ReadEntry: Equatable {
    var header: TarHeader
    var body: [UInt8]
}

/// Reads a whole archive from memory, with bodies; `chunk` limits each source read.
func readArchive(_ bytes: [UInt8], chunk: Int = Int.max, maxEntries: Int = 100_000) throws -> [ReadEntry] {
    let reader = TarReader(source: MemorySource(bytes, chunk: chunk))
    var entries: [ReadEntry] = []
    var piece = [UInt8](repeating: 0, count: 777)  // odd size: exercises partial copies
    while let header = try reader.next() {
        var body: [UInt8] = []
        while true {
            let n = try piece.withUnsafeMutableBytes { try reader.readBody(into: $0) }
            if n == 0 { break }
            body += piece[0..<n]
        }
        entries.append(ReadEntry(header: header, body: body))
        if entries.count >= maxEntries { break }
    }
    return entries
}

// MARK: - Processes and temporary folders

struct ToolResult {
    var status: Int32
    var stdout: Data
    var stderr: String
}

/// Runs `tool` (looked up on PATH) with `arguments`; throws XCTSkip when it is not installed.
@discardableResult
func runTool(_ tool: String, _ arguments: [String], in directory: URL? = nil, stdinFile: URL? = nil) throws -> ToolResult {
    guard let path = findExecutable(tool) else { throw XCTSkip("\(tool) not installed: apt-get install \(tool == "bsdtar" ? "libarchive-tools" : tool)") }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    let out = Pipe()
    // stderr goes to a file so a chatty tool can never block on a second full pipe.
    let errURL = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("streamtar-stderr-\(getpid())-\(UInt64.random(in: 0...UInt64.max))")
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: errURL) }
    let errHandle = try FileHandle(forWritingTo: errURL)
    defer { try? errHandle.close() }
    process.standardOutput = out
    process.standardError = errHandle
    if let stdinFile { process.standardInput = try FileHandle(forReadingFrom: stdinFile) }
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let errData = (try? Data(contentsOf: errURL)) ?? Data()
    return ToolResult(status: process.terminationStatus, stdout: outData, stderr: String(decoding: errData, as: UTF8.self))
}

func findExecutable(_ name: String) -> String? {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
}

/// A fresh temporary folder, removed when the test ends.
func makeTemporaryDirectory(_ test: XCTestCase) throws -> URL {
    let folder = try TemporaryFolder("streamtar-test")
    test.addTeardownBlock { folder.remove() }
    return folder.url
}

// MARK: - Byte-path file system helpers (names need not be UTF-8)

func cPath(_ bytes: [UInt8]) -> [CChar] { bytes.map { CChar(bitPattern: $0) } + [0] }

func join(_ base: [UInt8], _ name: [UInt8]) -> [UInt8] { base.isEmpty ? name : base + [UInt8(ascii: "/")] + name }

func check(_ result: Int32, _ what: String, _ path: [UInt8]) throws {
    if result != 0 { throw TarError(.io(operation: what), errno: errno, path: TarPath(bytes: path).description) }
}

func lstatBytes(_ path: [UInt8]) throws -> stat {
    var st = stat()
    try check(lstat(cPath(path), &st), "lstat", path)
    return st
}

/// What a test tree holds at one path.
enum NodeSpec: Equatable {
    case file([UInt8])
    case directory
    case symlink([UInt8])
    case hardLink(to: [UInt8])
    case fifo
    /// Character (`block == false`) or block device node; needs CAP_MKNOD.
    case device(block: Bool, major: UInt32, minor: UInt32)
}

/// One path of a test tree with its wanted mode and mtime.
struct TreeSpec {
    var path: [UInt8]
    var node: NodeSpec
    var mode: UInt32 = 0o644
    var mtime: Int64 = 1_600_000_000
    var mtimeNanos: Int = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}

/// Creates the tree under `root` (parents first), then sets modes and times deepest-first so
/// creating children does not disturb a directory's mtime.
func buildTree(_ specs: [TreeSpec], under root: [UInt8]) throws {
    for spec in specs {
        let full = join(root, spec.path)
        switch spec.node {
        case let .file(content):
            let fd = open(cPath(full), O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            if fd < 0 { try check(-1, "open", full) }
            try content.withUnsafeBytes { try FileDescriptorSink(fd: fd, path: "test").write($0) }
            close(fd)
        case .directory:
            try check(mkdir(cPath(full), 0o700), "mkdir", full)
        case let .symlink(target):
            try check(symlink(cPath(target), cPath(full)), "symlink", full)
        case let .hardLink(to):
            try check(link(cPath(join(root, to)), cPath(full)), "link", full)
        case .fifo:
            try check(mkfifo(cPath(full), 0o600), "mkfifo", full)
        case let .device(block, major, minor):
            let dev = dev_t(major & 0xfff) << 8 | dev_t(minor & 0xff) | dev_t(minor & ~0xff) << 12 | dev_t(major & ~0xfff) << 32
            if mknod(cPath(full), (block ? S_IFBLK : S_IFCHR) | 0o600, dev) != 0 {
                if errno == EPERM { throw XCTSkip("mknod not permitted here (needs CAP_MKNOD)") }
                try check(-1, "mknod", full)
            }
        }
    }
    for spec in specs.reversed() {
        let full = join(root, spec.path)
        if case .hardLink = spec.node {} else {
            if lchown(cPath(full), spec.uid, spec.gid) != 0 {
                if errno == EPERM { throw XCTSkip("setting file owners needs root (CI runs the suite as root)") }
                try check(-1, "lchown", full)
            }
        }
        if case .symlink = spec.node {} else if case .hardLink = spec.node {} else {
            try check(chmod(cPath(full), mode_t(spec.mode)), "chmod", full)
        }
        if case .hardLink = spec.node { continue }
        var times = [timespec(tv_sec: Int(spec.mtime), tv_nsec: spec.mtimeNanos), timespec(tv_sec: Int(spec.mtime), tv_nsec: spec.mtimeNanos)]
        try check(utimensat(AT_FDCWD, cPath(full), &times, AT_SYMLINK_NOFOLLOW), "utimensat", full)
    }
}

/// The names in a directory, sorted bytewise, without "." and "..".
func listDirectory(_ path: [UInt8]) throws -> [[UInt8]] {
    guard let dir = opendir(cPath(path)) else { try check(-1, "opendir", path); return [] }
    defer { closedir(dir) }
    var names: [[UInt8]] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
        if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
        names.append(name)
    }
    return names.sorted { $0.lexicographicallyPrecedes($1) }
}

/// Everything a round trip must preserve about one path.
struct Snapshot: Equatable, CustomStringConvertible {
    var type: UInt32
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var size: Int64
    var rdev: UInt64
    var mtime: Int64
    var mtimeNanos: Int
    var content: [UInt8]
    var linkTarget: [UInt8]
    /// All paths sharing this inode when it has several links, sorted.
    var hardLinkGroup: [[UInt8]]

    var description: String {
        "type \(String(type, radix: 8)) mode \(String(mode, radix: 8)) owner \(uid):\(gid) size \(size) rdev \(rdev) mtime \(mtime).\(mtimeNanos) "
            + "content \(content.count) bytes link \(TarPath(bytes: linkTarget)) group \(hardLinkGroup.map { TarPath(bytes: $0).description })"
    }
}

/// Walks `root` recursively with lstat (never following links) and records every path.
func snapshotTree(_ root: [UInt8]) throws -> [[UInt8]: Snapshot] {
    var result: [[UInt8]: Snapshot] = [:]
    var inodes: [UInt64: [[UInt8]]] = [:]
    func walk(_ relative: [UInt8]) throws {
        for name in try listDirectory(join(root, relative)) {
            let rel = join(relative, name)
            let full = join(root, rel)
            let st = try lstatBytes(full)
            let type = UInt32(st.st_mode) & UInt32(S_IFMT)
            var snap = Snapshot(type: type, mode: UInt32(st.st_mode) & 0o7777, uid: st.st_uid, gid: st.st_gid, size: type == UInt32(S_IFREG) ? Int64(st.st_size) : 0, rdev: UInt64(st.st_rdev),
                                mtime: Int64(st.st_mtim.tv_sec), mtimeNanos: st.st_mtim.tv_nsec, content: [], linkTarget: [], hardLinkGroup: [])
            if type == UInt32(S_IFLNK) {
                var buf = [CChar](repeating: 0, count: 4096)
                let n = readlink(cPath(full), &buf, buf.count)
                snap.linkTarget = buf[0..<max(n, 0)].map { UInt8(bitPattern: $0) }
                snap.mode = 0  // symlink permissions carry no meaning on Linux
            } else if type == UInt32(S_IFREG) {
                snap.content = try readBytes(full)
                if st.st_nlink > 1 { inodes[UInt64(st.st_ino), default: []].append(rel) }
            }
            result[rel] = snap
            if type == UInt32(S_IFDIR) { try walk(rel) }
        }
    }
    try walk([])
    for (_, group) in inodes {
        let sorted = group.sorted { $0.lexicographicallyPrecedes($1) }
        for path in group { result[path]!.hardLinkGroup = sorted }
    }
    return result
}

/// The whole content of a (small) file given by byte path.
func readBytes(_ path: [UInt8]) throws -> [UInt8] {
    let fd = open(cPath(path), O_RDONLY)
    if fd < 0 { try check(-1, "open", path) }
    defer { close(fd) }
    let source = FileDescriptorSource(fd: fd, path: TarPath(bytes: path).description)
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = try chunk.withUnsafeMutableBytes { try source.read(into: $0) }
        if n == 0 { return out }
        out += chunk[0..<n]
    }
}

/// Archives the contents of `root` with StreamTar, the way a backup writer would: names
/// relative to `root`, directories before their contents, hard links via HardLinkTracker,
/// bodies copied from descriptors.
func archiveTree(_ root: [UInt8], to sink: TarByteSink, keepSubsecondTimes: Bool = false) throws {
    let writer = TarWriter(sink: sink)
    var links = HardLinkTracker()
    func walk(_ relative: [UInt8]) throws {
        for name in try listDirectory(join(root, relative)) {
            let rel = join(relative, name)
            let full = join(root, rel)
            let st = try lstatBytes(full)
            let type = UInt32(st.st_mode) & UInt32(S_IFMT)
            var linkName = TarPath(bytes: [])
            if type == UInt32(S_IFLNK) {
                var buf = [CChar](repeating: 0, count: 4096)
                let n = readlink(cPath(full), &buf, buf.count)
                linkName = TarPath(bytes: buf[0..<max(n, 0)].map { UInt8(bitPattern: $0) })
            } else if type == UInt32(S_IFREG),
                      let target = links.linkTarget(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), linkCount: UInt64(st.st_nlink), name: TarPath(bytes: rel)) {
                linkName = target
            }
            let header = try XCTUnwrap(TarHeader(name: TarPath(bytes: rel), fileStatus: st, linkName: linkName, keepSubsecondTimes: keepSubsecondTimes))
            try writer.writeHeader(header)
            if header.kind == .regular {
                let fd = open(cPath(full), O_RDONLY)
                if fd < 0 { try check(-1, "open", full) }
                defer { close(fd) }
                let result = try writer.writeBody(fromFileDescriptor: fd, path: header.name.description)
                XCTAssertEqual(result, .complete, "\(header.name)")
            }
            if type == UInt32(S_IFDIR) { try walk(rel) }
        }
    }
    try walk([])
    try writer.finish()
}

func writeFile(_ url: URL, _ bytes: [UInt8]) throws { try Data(bytes).write(to: url) }

func readFile(_ url: URL) throws -> [UInt8] { Array(try Data(contentsOf: url)) }

/// A path of exactly `length` bytes under folder `top`, made of 40-byte components so every
/// component stays below NAME_MAX; the last component takes the remainder.
func pathOfLength(_ length: Int, top: String) -> [UInt8] {
    var path = Array("\(top)/".utf8)
    var component = 0
    while length - path.count > 60 {
        path += Array(String(repeating: Character(UnicodeScalar(UInt8(ascii: "a") + UInt8(component % 26))), count: 39).utf8) + [UInt8(ascii: "/")]
        component += 1
    }
    let rest = length - path.count
    path += Array(String(repeating: "f", count: rest).utf8)
    precondition(path.count == length)
    return path
}

/// The directories a set of paths needs, parents first, as directory specs.
func parentDirectories(of paths: [[UInt8]], existing: Set<[UInt8]>) -> [TreeSpec] {
    var seen = existing
    var specs: [TreeSpec] = []
    for path in paths {
        var prefix: [UInt8] = []
        let parts = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).dropLast()
        for part in parts {
            prefix = join(prefix, Array(part))
            if seen.insert(prefix).inserted { specs.append(TreeSpec(path: prefix, node: .directory, mode: 0o755)) }
        }
    }
    return specs
}
