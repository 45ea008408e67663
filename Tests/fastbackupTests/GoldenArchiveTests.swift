import Foundation
import ParallelGzip
import StreamTar
import XCTest
@testable import fastbackup

/// Archives checked in under Tests/Fixtures, each made once by the command in
/// Tests/Fixtures/make.sh (GNU tar 1.34 and gzip 1.12 on Debian 12, and fastbackup itself):
/// reading them must keep giving the same entries, whatever the reader's code becomes.
final class GoldenArchiveTests: XCTestCase {
    private struct Entry: Equatable, CustomStringConvertible {
        var name: String, kind: String, size: Int64, link: String, body: String
        var description: String { "\(kind) \(name) \(size) \(link) \(body.debugDescription)" }
    }

    private static let longName = String(repeating: "d", count: 60) + "/" + String(repeating: "n", count: 70) + ".txt"

    /// The tree make.sh archives, as every reader must give it back (names relative to it).
    private static let tree: [Entry] = [
        Entry(name: "café", kind: "d", size: 0, link: "", body: ""),
        Entry(name: "café/naïve.txt", kind: "f", size: 7, link: "", body: "naïve\n"),
        Entry(name: String(repeating: "d", count: 60), kind: "d", size: 0, link: "", body: ""),
        Entry(name: longName, kind: "f", size: 10, link: "", body: "long name\n"),
        Entry(name: "empty", kind: "d", size: 0, link: "", body: ""),
        Entry(name: "hard.txt", kind: "f", size: 6, link: "", body: "plain\n"),
        Entry(name: "link-to-long", kind: "l", size: 0, link: longName, body: ""),
        Entry(name: "plain.txt", kind: "h", size: 0, link: "hard.txt", body: ""),
    ]

    private func read(_ file: String, strip prefix: String) throws -> [Entry] {
        let path = packageRoot + "/Tests/Fixtures/" + file
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw XCTSkip("\(path) is missing") }
        defer { close(fd) }
        let source: TarByteSource = file.hasSuffix(".tgz")
            ? try ParallelDecompressor(inputFD: fd, path: path, threads: 2)
            : FileDescriptorSource(fd: fd, path: path)
        let reader = TarReader(source: source)
        var entries: [Entry] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        func relative(_ bytes: [UInt8]) -> String {
            var s = String(decoding: bytes, as: UTF8.self)
            if s.hasPrefix(prefix) { s.removeFirst(prefix.count) }
            while s.hasSuffix("/") { s.removeLast() }
            return s
        }
        while let h = try reader.next() {
            let name = relative(h.name.bytes)
            if name.isEmpty || name == "." { continue }
            var body: [UInt8] = []
            while true {
                let n = try buffer.withUnsafeMutableBytes { try reader.readBody(into: $0) }
                if n == 0 { break }
                body += buffer[0..<n]
            }
            let kind: String
            switch h.kind {
            case .directory: kind = "d"
            case .regular: kind = "f"
            case .symbolicLink: kind = "l"
            case .hardLink: kind = "h"
            default: kind = "?"
            }
            let link = h.kind == .hardLink ? relative(h.linkName.bytes) : String(decoding: h.linkName.bytes, as: UTF8.self)
            entries.append(Entry(name: name, kind: kind, size: h.size, link: link, body: String(decoding: body, as: UTF8.self)))
            XCTAssertEqual(h.modificationTime.seconds, 1_700_000_000, "\(file): \(name)")
        }
        return entries
    }

    func testGNULongNames() throws {
        XCTAssertEqual(try read("gnu-long-names.tar", strip: "./"), Self.tree)
    }

    func testPAXWithUTF8Names() throws {
        XCTAssertEqual(try read("pax-utf8.tar", strip: "./"), Self.tree)
    }

    func testUstarThroughOneGzipMember() throws {
        // In the order make.sh names them: plain.txt, hard.txt (a link to it), café.
        let want = [Entry(name: "plain.txt", kind: "f", size: 6, link: "", body: "plain\n"),
                    Entry(name: "hard.txt", kind: "h", size: 0, link: "plain.txt", body: "")]
            + Self.tree.filter { $0.name.hasPrefix("café") }
        XCTAssertEqual(try read("ustar-gzip.tgz", strip: ""), want)
    }

    /// fastbackup's own format: multi-member gzip with size subfields, folders with a slash.
    func testFastbackupMediaArchive() throws {
        XCTAssertEqual(try read("fastbackup-media.tgz", strip: "pub/media/"), Self.tree)
        let size = ArchiveSize.of(packageRoot + "/Tests/Fixtures/fastbackup-media.tgz")
        XCTAssertTrue(size.exact, "the golden archive's members state their sizes")
    }
}
