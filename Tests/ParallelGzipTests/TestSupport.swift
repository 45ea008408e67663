import Foundation
import XCTest
@testable import ParallelGzip
import TestSupport

/// The kinds of input the round trips cover.
enum InputKind: String, CaseIterable {
    /// Random bytes from a 12-symbol alphabet: compressible, but without long repeats.
    case random
    /// PHP-like lines built from a small vocabulary: compresses well.
    case text
    /// Uniform random bytes: does not compress (stands in for JPEG/MP4).
    case incompressible

    func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var r = SeededRandom(seed: seed)
        var out: [UInt8] = []
        out.reserveCapacity(count + 128)
        switch self {
        case .random:
            for _ in 0..<count { out.append(UInt8(0x41 + r.int(12))) }
        case .incompressible:
            while out.count < count {
                var v = r.next()
                for _ in 0..<8 { out.append(UInt8(v & 0xff)); v >>= 8 }
            }
        case .text:
            // Keywords and punctuation plus identifiers made of 2-3 of 40 syllables: a vocabulary of
            // thousands of names, like a real code base, rather than a handful of repeated tokens.
            let words = ["$this->", "return ", "public function ", "array(", " => ", "foreach (", " as ", ");\n",
                         "{\n", "}\n", "    ", "null", "SELECT * FROM ", " WHERE ", " = ?", "<?php\n", "namespace ",
                         "if (", "!== ", "'", "(int)", ", ", "->get", "->set", "// ", "\n"]
            let syllables = ["pro", "duct", "or", "der", "cus", "tom", "er", "item", "price", "quo", "te", "ad", "dress",
                             "store", "at", "tri", "bute", "col", "lec", "tion", "con", "fig", "re", "po", "si", "fac",
                             "sto", "ck", "cat", "ego", "ry", "web", "site", "pay", "ment", "ship", "in", "voice", "ru", "le"]
            while out.count < count {
                if r.int(3) == 0 {
                    for k in 0..<(2 + r.int(2)) {
                        var syl = syllables[r.int(syllables.count)]
                        if k > 0 { syl = syl.prefix(1).uppercased() + syl.dropFirst() }
                        out.append(contentsOf: Array(syl.utf8))
                    }
                } else {
                    out.append(contentsOf: Array(words[r.int(words.count)].utf8))
                }
                if r.int(11) == 0 { out.append(contentsOf: Array(String(r.int(100_000)).utf8)) }
            }
        }
        return Array(out.prefix(count))
    }
}

/// A temporary directory removed at the end of the test.
typealias TempDir = TemporaryFolder

func openForWriting(_ path: String) throws -> Int32 {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    if fd < 0 { throw CompressionError(.io, path: path, errno: errno, detail: "open") }
    return fd
}

func openForReading(_ path: String) throws -> Int32 {
    let fd = open(path, O_RDONLY)
    if fd < 0 { throw CompressionError(.io, path: path, errno: errno, detail: "open") }
    return fd
}

/// Compresses `data` to `path`, handing it to `write` in irregular pieces (seeded) so chunk
/// boundaries fall inside writes.
@discardableResult
func compressFile(_ data: [UInt8], to path: String, options: CompressionOptions, seed: UInt64 = 7) throws -> CompressionStats {
    let fd = try openForWriting(path)
    defer { close(fd) }
    let c = try ParallelCompressor(outputFD: fd, path: path, options: options)
    var r = SeededRandom(seed: seed)
    try data.withUnsafeBytes { all in
        var off = 0
        while off < all.count {
            let n = min(all.count - off, 1 + r.int(40_000))
            try c.write(UnsafeRawBufferPointer(rebasing: all[off..<off + n]))
            off += n
        }
    }
    return try c.finish()
}

/// Decompresses the file at `path` with a small, odd-sized read buffer.
func decompressFile(_ path: String, threads: Int? = nil, readSize: Int = 7_919) throws -> [UInt8] {
    let fd = try openForReading(path)
    defer { close(fd) }
    let d = try ParallelDecompressor(inputFD: fd, path: path, threads: threads)
    var out: [UInt8] = []
    let buf = UnsafeMutableRawBufferPointer.allocate(byteCount: readSize, alignment: 16)
    defer { buf.deallocate() }
    while true {
        let n = try d.read(into: buf)
        if n == 0 { break }
        out.append(contentsOf: buf[0..<n])
    }
    return out
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

func readFile(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Finds `tool` on PATH or skips the test.
func requireTool(_ tool: String) throws -> String {
    if tool.hasPrefix("/"), FileManager.default.isExecutableFile(atPath: tool) { return tool }
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let p = "\(dir)/\(tool)"
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    throw XCTSkip("\(tool) not installed: needed to check that real tools read or write this format")
}

/// Runs a real tool; stdin and stdout may be files. Returns exit status and stderr.
@discardableResult
func runTool(_ tool: String, _ args: [String], stdin: String? = nil, stdout: String? = nil,
             cwd: String? = nil) throws -> (status: Int32, stderr: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: try requireTool(tool))
    p.arguments = args
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    if let stdin { p.standardInput = FileHandle(forReadingAtPath: stdin) }
    if let stdout {
        _ = FileManager.default.createFile(atPath: stdout, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: stdout)
    } else {
        p.standardOutput = FileHandle.nullDevice
    }
    let errPipe = Pipe()
    p.standardError = errPipe
    try p.run()
    let err = errPipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: err, as: UTF8.self))
}

/// Walks the members of a file written by ``ParallelCompressor`` using only the `FB` subfield, the
/// way a reader can without inflating. Returns (offset, member length, uncompressed length).
func walkMembers(_ bytes: [UInt8]) -> [(offset: Int, length: Int, size: Int)]? {
    var out: [(Int, Int, Int)] = []
    var off = 0
    while off < bytes.count {
        let h = bytes.withUnsafeBytes { GzipMemberFormat.parseHeader(UnsafeRawBufferPointer(rebasing: $0[off...])) }
        guard case .valid(_, let sizes?) = h else { return nil }
        out.append((off, sizes.member, sizes.uncompressed))
        off += sizes.member
    }
    return off == bytes.count ? out : nil
}
