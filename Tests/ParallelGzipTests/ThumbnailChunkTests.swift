import Foundation
import XCTest
@testable import ParallelGzip
import TestSupport

/// The chooser on what most of a live `pub/media` is: Magento's resized image cache, JPEG
/// thumbnails written by GD at quality 80 with standard Huffman tables. Their chunks shrink
/// 10-20% (the tar headers and every file's repeated tables help), mostly through what ISA-L
/// level 1 finds too, so they must go to the fast engine and still end within 1% of `gzip -6`.
///
/// Fixture: a tar made by Python's tarfile of thumbnails that Debian's python3-pil resizes
/// (`Image.thumbnail`, then `save(quality=80, optimize=False)`: GD's settings) from the shared
/// corpus's product photos when they are there, else from seeded gradient-and-noise images.
final class ThumbnailChunkTests: XCTestCase {
    private let script = #"""
    import io, os, random, sys, tarfile
    from PIL import Image
    corpus, out = sys.argv[1], sys.argv[2]
    sizes = [(75, 90), (88, 110), (110, 160), (135, 135), (140, 140), (240, 300), (265, 265), (285, 285)]
    rng = random.Random(20261207)
    sources = []
    if os.path.isdir(corpus):
        for d, _, names in sorted(os.walk(corpus)):
            sources += [os.path.join(d, n) for n in sorted(names) if n.lower().endswith(".jpg")]
    def images():
        if sources:
            for p in sources[:120]:
                yield Image.open(p).convert("RGB")
        else:
            for i in range(120):
                w, h = 800, 800
                im = Image.linear_gradient("L").resize((w, h)).convert("RGB")
                noise = Image.effect_noise((w, h), 40 + i).convert("RGB")
                yield Image.blend(im, noise, 0.35)
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as tar:
        for n, im in enumerate(images()):
            for (w, h) in sizes:
                t = im.copy()
                t.thumbnail((w, h))
                buf = io.BytesIO()
                t.save(buf, "JPEG", quality=80, optimize=False)
                info = tarfile.TarInfo("cache/%dx%d/%03d.jpg" % (w, h, n))
                info.size = buf.tell()
                info.mtime = 1700000000
                buf.seek(0)
                tar.addfile(info, buf)
    """#

    func testThumbnailChunksGoFastAndStayWithinOnePercentOfGzip6() throws {
        // Debian's python3-pil belongs to Debian's interpreter, which may not be first on PATH.
        let python = FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "python3"
        guard (try? runTool(python, ["-c", "import PIL"]))?.status == 0 else {
            throw XCTSkip("python3-pil is not installed for \(python): no thumbnails to make")
        }
        let dir = try TempDir()
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/corpus/media").path
        XCTAssertEqual(try runTool(python, ["-c", script, corpus, dir.path("thumbs.tar")]).status, 0)
        let data = try readFile(dir.path("thumbs.tar"))
        XCTAssertGreaterThan(data.count, 1_000_000)
        XCTAssertEqual(try runTool("gzip", ["-6", "-c", dir.path("thumbs.tar")], stdout: dir.path("thumbs.gz")).status, 0)
        let gzip6 = try readFile(dir.path("thumbs.gz")).count
        // 1 MiB chunks, so the ~4 MB fixture is several chunks.
        var options = CompressionOptions()
        options.chunkSize = 1 << 20
        let stats = try compressFile(data, to: dir.path("ours.gz"), options: options)
        XCTAssertGreaterThan(stats.members, 3)
        XCTAssertEqual(stats.strongMembers, 0, "thumbnail chunks must go to ISA-L level 1")
        XCTAssertLessThan(Double(stats.outputBytes), Double(data.count) * 0.97, "thumbnails must still shrink")
        XCTAssertLessThanOrEqual(Double(stats.outputBytes), Double(gzip6) * 1.01, "ours \(stats.outputBytes) vs gzip -6 \(gzip6)")
        XCTAssertEqual(try decompressFile(dir.path("ours.gz")), data)
    }

    func testTextChunksStillGoToTheStrongEngine() throws {
        // PHP-like text: ISA-L level 1 leaves it 1.4-1.6x larger than level 6, far past 1%.
        var text = ""
        var rng = SeededRandom(seed: 11)
        let words = ["public", "function", "return", "$this->", "array", "string", "namespace", "class", "use", "Magento\\Catalog\\Model"]
        while text.utf8.count < 1_500_000 {
            text += "    " + (0..<8).map { _ in words[rng.int(words.count)] }.joined(separator: " ") + ";\n"
        }
        var options = CompressionOptions()
        options.chunkSize = 256 << 10
        let dir = try TempDir()
        let stats = try compressFile(Array(text.utf8), to: dir.path("text.gz"), options: options)
        XCTAssertEqual(stats.fastMembers, 0)
        XCTAssertEqual(stats.strongMembers, stats.members)
    }
}
