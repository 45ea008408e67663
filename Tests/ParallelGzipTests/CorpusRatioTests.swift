import Foundation
import XCTest
@testable import ParallelGzip
import TestSupport

/// Output size on real JPEGs from the shared corpus (`<package root>/../shared/corpus/media`),
/// against `gzip -6 -c` of the same bytes.
final class CorpusRatioTests: XCTestCase {
    private var mediaRoot: URL {
        // <root>/Tests/ParallelGzipTests/CorpusRatioTests.swift -> <root>/../shared/corpus/media
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared/corpus/media")
    }

    func testRealJPEGsStayWithinOnePercentOfGzip6() throws {
        guard let walker = FileManager.default.enumerator(at: mediaRoot, includingPropertiesForKeys: nil) else {
            throw XCTSkip("corpus absent: \(mediaRoot.path) (a clone without ../shared); nothing to measure")
        }
        var paths: [String] = []
        for case let url as URL in walker where url.pathExtension.lowercased() == "jpg" { paths.append(url.path) }
        paths.sort()
        var data: [UInt8] = []
        for p in paths where data.count < 6_000_000 { data += try readFile(p) }
        if data.count < 1_000_000 { throw XCTSkip("corpus at \(mediaRoot.path) holds under 1 MB of JPEG") }
        let dir = try TempDir()
        try writeFile(dir.path("jpegs"), data)
        XCTAssertEqual(try runTool("gzip", ["-6", "-c", dir.path("jpegs")], stdout: dir.path("jpegs.gz")).status, 0)
        let gzip6 = try readFile(dir.path("jpegs.gz")).count
        let stats = try compressFile(data, to: dir.path("ours.gz"), options: CompressionOptions())
        XCTAssertEqual(stats.strongMembers, 0, "JPEG chunks must not go to the slow engine")
        XCTAssertLessThanOrEqual(Double(stats.outputBytes), Double(gzip6) * 1.01, "ours \(stats.outputBytes) vs gzip -6 \(gzip6)")
        XCTAssertEqual(try decompressFile(dir.path("ours.gz")), data)
    }
}
