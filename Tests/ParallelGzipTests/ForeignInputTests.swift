import XCTest
@testable import ParallelGzip
import TestSupport

/// The decompressor reads streams made by other tools (fixtures made here by the commands named).
final class ForeignInputTests: XCTestCase {
    private func data() -> [UInt8] {
        InputKind.text.bytes(700_000, seed: 41) + InputKind.incompressible.bytes(100_000, seed: 42)
    }

    /// `gzip -9 -c in > in.gz`, `pigz -6 -c in > in.gz`, `pigz -1 -b 32 -c in > in.gz`, `zstd -19 -c in > in.zst`.
    func testSingleStreamFromTools() throws {
        let table: [(tool: String, args: [String])] = [
            ("gzip", ["-9", "-c"]), ("gzip", ["-1", "-c", "-N"]), ("pigz", ["-6", "-c"]), ("pigz", ["-1", "-c", "-b", "32"]),
            ("zstd", ["-19", "-q", "-c"]), ("zstd", ["-1", "-q", "-c", "--no-check"]),
        ]
        let dir = try TempDir(), input = data()
        try writeFile(dir.path("in"), input)
        for (tool, args) in table {
            let out = dir.path("in.cmp")
            let r = try runTool(tool, args + [dir.path("in")], stdout: out)
            XCTAssertEqual(r.status, 0, "\(tool) \(args): \(r.stderr)")
            for threads in [1, 2] {
                XCTAssertEqual(try decompressFile(out, threads: threads), input, "\(tool) \(args.joined(separator: " "))")
            }
        }
    }

    /// `tar -czf x.tar.gz src` (GNU tar piping through gzip) is read and equals `tar -cf`'s archive.
    func testTarCzf() throws {
        let dir = try TempDir()
        try FileManager.default.createDirectory(atPath: dir.path("src"), withIntermediateDirectories: true)
        try writeFile(dir.path("src/a.txt"), data())
        XCTAssertEqual(try runTool("tar", ["-czf", dir.path("x.tar.gz"), "-C", dir.path(""), "src"]).status, 0)
        XCTAssertEqual(try runTool("gzip", ["-dc", dir.path("x.tar.gz")], stdout: dir.path("x.tar")).status, 0)
        XCTAssertEqual(try decompressFile(dir.path("x.tar.gz")), try readFile(dir.path("x.tar")))
    }

    /// `bsdtar -czf y.tar.gz src` (libarchive's own gzip writer).
    func testBsdtarCzf() throws {
        let dir = try TempDir()
        try FileManager.default.createDirectory(atPath: dir.path("src"), withIntermediateDirectories: true)
        try writeFile(dir.path("src/a.txt"), data())
        let r = try runTool("bsdtar", ["-czf", dir.path("y.tar.gz"), "-C", dir.path(""), "src"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try runTool("gzip", ["-dc", dir.path("y.tar.gz")], stdout: dir.path("y.tar")).status, 0)
        XCTAssertEqual(try decompressFile(dir.path("y.tar.gz")), try readFile(dir.path("y.tar")))
    }

    /// Concatenated members (`gzip -c a > x; gzip -c b >> x`), mixed with our own members, and
    /// concatenated zstd frames with our size frames.
    func testConcatenatedMembersAndFrames() throws {
        let dir = try TempDir()
        let a = InputKind.text.bytes(200_000, seed: 51), b = InputKind.random.bytes(90_000, seed: 52)
        try writeFile(dir.path("a"), a)
        try writeFile(dir.path("b"), b)
        for (tool, ours, ext) in [("gzip", CompressionCodec.gzip, "gz"), ("zstd", .zstd, "zst")] {
            XCTAssertEqual(try runTool(tool, ["-c", "-q", dir.path("a")], stdout: dir.path("a.\(ext)")).status, 0)
            XCTAssertEqual(try runTool(tool, ["-c", "-q", dir.path("b")], stdout: dir.path("b.\(ext)")).status, 0)
            try compressFile(b, to: dir.path("ours.\(ext)"), options: CompressionOptions(codec: ours, threads: 2, chunkSize: 32_768))
            let joined = try readFile(dir.path("a.\(ext)")) + readFile(dir.path("ours.\(ext)")) + readFile(dir.path("b.\(ext)")) + readFile(dir.path("a.\(ext)"))
            try writeFile(dir.path("j.\(ext)"), joined)
            XCTAssertEqual(try decompressFile(dir.path("j.\(ext)"), threads: 2), a + b + b + a, tool)
        }
    }

    /// A member whose FNAME is larger than the reader's look-ahead goes to the zlib path. Made from
    /// `gzip -n -c in` by setting FLG.FNAME and inserting a 600 000-byte name after the 10-byte header.
    func testHugeFileNameHeader() throws {
        let dir = try TempDir(), input = InputKind.text.bytes(100_000, seed: 91)
        try writeFile(dir.path("in"), input)
        XCTAssertEqual(try runTool("gzip", ["-n", "-c", dir.path("in")], stdout: dir.path("in.gz")).status, 0)
        let plain = try readFile(dir.path("in.gz"))
        XCTAssertEqual(plain[3], 0, "gzip -n writes no optional header fields")
        var crafted = Array(plain[0..<10])
        crafted[3] = 0x08
        crafted += [UInt8](repeating: 0x61, count: 600_000) + [0] + plain[10...]
        try writeFile(dir.path("big-name.gz"), crafted)
        XCTAssertEqual(try runTool("gzip", ["-t", dir.path("big-name.gz")]).status, 0, "gzip itself accepts the crafted file")
        XCTAssertEqual(try decompressFile(dir.path("big-name.gz")), input)
        try writeFile(dir.path("twice.gz"), crafted + plain)
        XCTAssertEqual(try decompressFile(dir.path("twice.gz")), input + input)
    }

    /// Skippable frames from other writers (magic 0x184D2A5E, as the seekable format's seek table
    /// uses) around `zstd -c` frames are skipped, as `zstd -d` skips them.
    func testForeignSkippableFrames() throws {
        let dir = try TempDir(), input = InputKind.text.bytes(120_000, seed: 95)
        try writeFile(dir.path("in"), input)
        XCTAssertEqual(try runTool("zstd", ["-q", "-c", dir.path("in")], stdout: dir.path("in.zst")).status, 0)
        let frame = try readFile(dir.path("in.zst"))
        let skippable: [UInt8] = [0x5E, 0x2A, 0x4D, 0x18, 8, 0, 0, 0] + Array("12345678".utf8)
        try writeFile(dir.path("mixed.zst"), skippable + frame + skippable + frame + skippable)
        let r = try runTool("zstd", ["-q", "-d", "-c", dir.path("mixed.zst")], stdout: dir.path("zstd.out"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try readFile(dir.path("zstd.out")), input + input)
        XCTAssertEqual(try decompressFile(dir.path("mixed.zst")), input + input)
    }
}
