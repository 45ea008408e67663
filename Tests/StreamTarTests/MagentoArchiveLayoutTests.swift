import Foundation
import XCTest
@testable import StreamTar
import TestSupport

/// Archives written by Magento's own archiver (`Magento\Framework\Archive\Tar`, used by
/// `bin/magento setup:backup --code/--media`) must read back correctly.
///
/// There is no PHP on the test machines, so the fixture is composed here byte for byte the
/// way `_composeHeader()` and `_packAndWriteCurrentFile()` of Magento 2.4 build it: every
/// field packed with PHP's `pack("aN", …)` (NUL-padded), magic `"ustar "` + version `" \0"`
/// (old GNU), checksum as `sprintf("%07o", sum) . "\0"`, uid/gid 0 as seven NULs, a
/// `././@LongLink` `L` entry (mode of seven spaces, mtime `00000000000`) before names over 100
/// bytes, directories with a trailing slash, symlinks whose size field is the size of their
/// target (PHP's `filesize()` follows links) but without a body, and 12 zero blocks at the end.
final class MagentoArchiveLayoutTests: XCTestCase {
    private struct PHPFile {
        var name: String
        var type: Character  // "0", "2" or "5"
        var mode: UInt32
        var uid: Int
        var gid: Int
        var size: Int  // PHP's filesize(): for a symlink, the size of its target
        var mtime: Int
        var linkTarget = ""
        var body: [UInt8] = []
    }

    /// PHP `pack("a<width>", value)`: the value cut or NUL-padded to `width` bytes.
    private func pack(_ value: [UInt8], _ width: Int) -> [UInt8] {
        Array(value.prefix(width)) + [UInt8](repeating: 0, count: max(0, width - value.count))
    }

    private func octal(_ value: Int, _ digits: Int) -> [UInt8] {
        let text = String(value, radix: 8)
        return Array((String(repeating: "0", count: max(0, digits - text.count)) + text).utf8)
    }

    private func composeHeader(_ f: PHPFile, long: Bool) -> [UInt8] {
        var h: [UInt8] = []
        h += pack(Array((long ? "././@LongLink" : f.name).utf8), 100)
        // str_pad(substr(sprintf("%07o", mode), -4), 6, '0', STR_PAD_LEFT); the stat mode includes the file type.
        let statMode = Int(f.mode) | (f.type == "5" ? 0o040000 : f.type == "2" ? 0o120000 : 0o100000)
        h += pack(long ? Array("       ".utf8) : Array(("00" + String(decoding: octal(statMode, 7).suffix(4), as: UTF8.self)).utf8), 8)
        h += pack(long || f.uid == 0 ? [0, 0, 0, 0, 0, 0, 0] : octal(f.uid, 7), 8)
        h += pack(long || f.gid == 0 ? [0, 0, 0, 0, 0, 0, 0] : octal(f.gid, 7), 8)
        h += pack(octal(long ? f.name.utf8.count : (f.type == "5" ? 0 : f.size), 11), 12)
        h += pack(long ? Array("00000000000".utf8) : octal(f.mtime, 11), 12)
        h += pack(Array("        ".utf8), 8)
        h += pack([long ? UInt8(ascii: "L") : f.type.asciiValue!], 1)
        h += pack(Array(f.linkTarget.utf8), 100)
        h += pack(Array("ustar ".utf8), 6)
        h += pack(Array(" ".utf8), 2)
        h += pack(Array("www-data".utf8), 32)
        h += pack(Array("www-data".utf8), 32)
        h += pack([], 8) + pack([], 8) + pack([], 155) + pack([], 12)
        precondition(h.count == 512)
        let sum = h.reduce(0) { $0 + Int($1) }
        h.replaceSubrange(148..<156, with: octal(sum, 7) + [0])
        return h
    }

    private func packFile(_ f: PHPFile) -> [UInt8] {
        var out: [UInt8] = []
        if f.name.utf8.count > 100 {
            out += composeHeader(f, long: true)
            let name = Array(f.name.utf8)
            out += name + [UInt8](repeating: 0, count: (512 - name.count % 512) % 512)
        }
        out += composeHeader(f, long: false)
        out += f.body + [UInt8](repeating: 0, count: (512 - f.body.count % 512) % 512)
        return out
    }

    func testReadsMagentoArchiverLayout() throws {
        var rng = SeededRandom(seed: 2024)
        let image = rng.bytes(700)
        let longName = "pub/media/catalog/product/cache/" + String(repeating: "0123456789abcdef", count: 6) + "/image.jpg"
        let files = [
            PHPFile(name: "pub/", type: "5", mode: 0o755, uid: 0, gid: 0, size: 4096, mtime: 1_700_000_000),
            PHPFile(name: "pub/media/", type: "5", mode: 0o2775, uid: 33, gid: 33, size: 4096, mtime: 1_700_000_001),
            PHPFile(name: "pub/media/a.jpg", type: "0", mode: 0o644, uid: 33, gid: 33, size: image.count, mtime: 1_700_000_002, body: image),
            PHPFile(name: "pub/media/link.jpg", type: "2", mode: 0o644, uid: 33, gid: 33, size: image.count, mtime: 1_700_000_002, linkTarget: "a.jpg"),
            PHPFile(name: longName, type: "0", mode: 0o600, uid: 33, gid: 0, size: 5, mtime: 1_700_000_003, body: Array("hello".utf8)),
            PHPFile(name: "pub/media/empty.txt", type: "0", mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 1_700_000_004),
        ]
        let archive = files.flatMap(packFile) + [UInt8](repeating: 0, count: 512 * 12)
        XCTAssertEqual(archive[257..<265], ArraySlice(Array("ustar  \0".utf8)))

        for chunk in [Int.max, 100] {
            let entries = try readArchive(archive, chunk: chunk)
            XCTAssertEqual(entries.map(\.header.name.description), files.map(\.name))
            XCTAssertEqual(entries.map(\.header.kind), [.directory, .directory, .regular, .symbolicLink, .regular, .regular])
            XCTAssertEqual(entries.map(\.header.mode), files.map(\.mode))
            XCTAssertEqual(entries.map(\.header.uid), files.map(\.uid))
            XCTAssertEqual(entries.map(\.header.gid), files.map(\.gid))
            XCTAssertEqual(entries.map(\.header.modificationTime.seconds), files.map { Int64($0.mtime) })
            XCTAssertEqual(entries.map(\.header.userName), Array(repeating: "www-data", count: files.count))
            XCTAssertEqual(entries.map(\.body), files.map(\.body))
            XCTAssertEqual(entries.map(\.header.size), [0, 0, 700, 0, 5, 0], "a symlink's size field is not a body")
            XCTAssertEqual(entries[3].header.linkName, "a.jpg")
        }
    }
}
