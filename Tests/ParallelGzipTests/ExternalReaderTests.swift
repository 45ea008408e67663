import XCTest
@testable import ParallelGzip
import TestSupport

/// Real tools must read what the compressor writes.
final class ExternalReaderTests: XCTestCase {
    let chunk = 64 * 1024

    private func sample() -> [UInt8] {
        InputKind.text.bytes(5 * chunk + 99, seed: 21) + InputKind.incompressible.bytes(2 * chunk, seed: 22)
    }

    private func compressed(_ dir: TempDir, _ data: [UInt8], codec: CompressionCodec = .gzip) throws -> String {
        let path = dir.path(codec == .gzip ? "out.gz" : "out.zst")
        try compressFile(data, to: path, options: CompressionOptions(codec: codec, threads: 2, chunkSize: chunk))
        return path
    }

    func testGzipTestAndDecompress() throws {
        let dir = try TempDir(), data = sample(), gz = try compressed(dir, data)
        XCTAssertEqual(try runTool("gzip", ["-t", gz]).status, 0)
        XCTAssertEqual(try runTool("gzip", ["-dc", gz], stdout: dir.path("gzip.out")).status, 0)
        XCTAssertEqual(try readFile(dir.path("gzip.out")), data)
    }

    func testPigzDecompress() throws {
        let dir = try TempDir(), data = sample(), gz = try compressed(dir, data)
        XCTAssertEqual(try runTool("pigz", ["-dc", gz], stdout: dir.path("pigz.out")).status, 0)
        XCTAssertEqual(try readFile(dir.path("pigz.out")), data)
    }

    func testPythonGzipModule() throws {
        let dir = try TempDir(), data = sample(), gz = try compressed(dir, data)
        let script = "import gzip,sys; open(sys.argv[2],'wb').write(gzip.open(sys.argv[1]).read())"
        XCTAssertEqual(try runTool("python3", ["-c", script, gz, dir.path("py.out")]).status, 0)
        XCTAssertEqual(try readFile(dir.path("py.out")), data)
    }

    func testSevenZip() throws {
        let dir = try TempDir(), data = sample(), gz = try compressed(dir, data)
        let t = try runTool("7z", ["t", gz])
        XCTAssertEqual(t.status, 0, t.stderr)
        XCTAssertEqual(try runTool("7z", ["x", "-o" + dir.path("7z"), gz]).status, 0)
        XCTAssertEqual(try readFile(dir.path("7z/out")), data)
    }

    /// A tar made with `tar -cf`, compressed by us, extracted with `tar -xzf` and `bsdtar -xzf`.
    func testTarExtractsCompressedTar() throws {
        let dir = try TempDir()
        try FileManager.default.createDirectory(atPath: dir.path("src/sub"), withIntermediateDirectories: true)
        let a = InputKind.text.bytes(300_000, seed: 31), b = InputKind.incompressible.bytes(150_000, seed: 32)
        try writeFile(dir.path("src/a.php"), a)
        try writeFile(dir.path("src/sub/b.jpg"), b)
        XCTAssertEqual(try runTool("tar", ["-cf", dir.path("x.tar"), "-C", dir.path(""), "src"]).status, 0)
        let tgz = dir.path("x.tar.gz")
        try compressFile(try readFile(dir.path("x.tar")), to: tgz, options: CompressionOptions(threads: 2, chunkSize: chunk))
        try FileManager.default.createDirectory(atPath: dir.path("dst"), withIntermediateDirectories: true)
        let r = try runTool("tar", ["-xzf", tgz, "-C", dir.path("dst")])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try readFile(dir.path("dst/src/a.php")), a)
        XCTAssertEqual(try readFile(dir.path("dst/src/sub/b.jpg")), b)
        try FileManager.default.createDirectory(atPath: dir.path("bsd"), withIntermediateDirectories: true)
        let bsd = try runTool("bsdtar", ["-xzf", tgz, "-C", dir.path("bsd")])
        XCTAssertEqual(bsd.status, 0, bsd.stderr)
        XCTAssertEqual(try readFile(dir.path("bsd/src/a.php")), a)
    }

    func testZstdDecompress() throws {
        let dir = try TempDir(), data = sample(), zst = try compressed(dir, data, codec: .zstd)
        let r = try runTool("zstd", ["-q", "-d", "-c", zst], stdout: dir.path("zstd.out"))
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try readFile(dir.path("zstd.out")), data)
        XCTAssertEqual(try runTool("zstd", ["-q", "-t", zst]).status, 0)
    }
}
