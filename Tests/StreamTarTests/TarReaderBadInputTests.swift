import Foundation
import XCTest
@testable import StreamTar
import TestSupport

/// Damaged and hostile archives: each must give a clear `TarError` (kind, entry, offset), never
/// a crash, a hang, or an allocation sized by a number read from the input.
final class TarReaderBadInputTests: XCTestCase {
    /// A ustar header block; `change` edits raw fields before the checksum is stored.
    private func headerBlock(_ name: String, flag: Character = "0", size: Int64 = 0, change: (inout TarBlock) -> Void = { _ in }) -> [UInt8] {
        var b = TarBlock()
        b.storeBytes(name.utf8, TarBlock.Field.name)
        b.storeOctal(0o644, TarBlock.Field.mode)
        b.storeOctal(0, TarBlock.Field.uid)
        b.storeOctal(0, TarBlock.Field.gid)
        b.storeOctal(size, TarBlock.Field.size)
        b.storeOctal(1_600_000_000, TarBlock.Field.mtime)
        b.bytes[TarBlock.Field.typeFlag] = flag.asciiValue!
        b.storeBytes("ustar\0".utf8, TarBlock.Field.magic)
        b.storeBytes("00".utf8, TarBlock.Field.version)
        change(&b)
        b.storeChecksum()
        return b.bytes
    }

    private func padded(_ body: [UInt8]) -> [UInt8] { body + [UInt8](repeating: 0, count: Int(tarPadding(Int64(body.count)))) }

    private let zeroBlock = [UInt8](repeating: 0, count: 512)
    private var trailer: [UInt8] { zeroBlock + zeroBlock }

    /// Header "a" with a 10-byte body, then the trailer: 2048 bytes.
    private var valid: [UInt8] { headerBlock("a", size: 10) + padded(Array("0123456789".utf8)) + trailer }

    private func paxEntry(_ records: String) -> [UInt8] {
        headerBlock("PaxHeaders.0/f", flag: "x", size: Int64(records.utf8.count)) + padded(Array(records.utf8))
    }

    private func base256(_ bytes: [UInt8]) -> (inout TarBlock) -> Void {
        { $0.bytes.replaceSubrange(TarBlock.Field.size, with: bytes) }
    }

    func testBadInputTable() {
        let onePAXHeader: [UInt8] = headerBlock("PaxHeaders.0/f", flag: "x", size: 300_000) + [UInt8](repeating: 0, count: 300_032)
        let manyPAXHeaders: [UInt8] = onePAXHeader + onePAXHeader + onePAXHeader + onePAXHeader + headerBlock("f") + trailer
        let cases: [(String, [UInt8], TarError.Kind, TarPath?, Int64?)] = [
            ("truncated inside a header", Array(valid.prefix(300)), .truncated, nil, 300),
            ("truncated inside a body", Array(valid.prefix(517)), .truncated, "a", 517),
            ("truncated inside body padding", Array(valid.prefix(600)), .truncated, "a", 600),
            ("bad checksum", { var v = valid; v[0] = UInt8(ascii: "b"); return v }(), .badChecksum(stored: 0, unsigned: 0, signed: 0), "b", 0),
            ("non-numeric size", headerBlock("n") { $0.bytes.replaceSubrange(TarBlock.Field.size, with: Array("0000000z001\0".utf8)) } + trailer,
             .invalidNumber(field: "size"), "n", 0),
            ("non-numeric mtime", headerBlock("m") { $0.bytes.replaceSubrange(TarBlock.Field.mtime, with: Array("12345678x01\0".utf8)) } + trailer,
             .invalidNumber(field: "mtime"), "m", 0),
            ("size beyond the stream", headerBlock("big", size: 1_000_000) + padded([1, 2, 3]) + trailer, .truncated, "big", 2048),
            ("negative base-256 size", headerBlock("neg", change: base256([UInt8](repeating: 0xFF, count: 12))) + trailer,
             .invalidNumber(field: "size"), "neg", 0),
            ("base-256 size beyond Int64", headerBlock("huge", change: base256([0x80] + [UInt8](repeating: 0xFF, count: 11))) + trailer,
             .invalidNumber(field: "size"), "huge", 0),
            ("base-256 size of Int64.max", headerBlock("max", change: base256([0x80, 0, 0, 0, 0x7F] + [UInt8](repeating: 0xFF, count: 7))) + trailer,
             .truncated, "max", 1536),
            ("pax record with wrong length", paxEntry("30 path=abc\n") + headerBlock("f") + trailer,
             .invalidPAXRecord("record length exceeds the header body"), nil, 0),
            ("pax record too short for its length", paxEntry("5 path=abc\n") + headerBlock("f") + trailer,
             .invalidPAXRecord("record of length 5 does not end with a newline"), nil, 0),
            ("pax record without key=value", paxEntry("9 pathab\n") + headerBlock("f") + trailer, .invalidPAXRecord("record has no key=value"), nil, 0),
            ("pax record without length", paxEntry("path=abc\n") + headerBlock("f") + trailer,
             .invalidPAXRecord("record does not start with a decimal length and a space"), nil, 0),
            ("pax size not a number", paxEntry("12 size=1x4\n") + headerBlock("f") + trailer, .invalidPAXRecord("size is not a decimal number"), "f", 1024),
            ("pax size beyond Int64", paxEntry("29 size=99999999999999999999\n") + headerBlock("f") + trailer,
             .invalidPAXRecord("size is out of range"), "f", 1024),
            ("pax size negative", paxEntry("11 size=-1\n") + headerBlock("f") + trailer, .invalidPAXRecord("size is not a decimal number"), "f", 1024),
            ("pax mtime garbage", paxEntry("15 mtime=1.2.3\n") + headerBlock("f") + trailer, .invalidPAXRecord("mtime is not a decimal time"), "f", 1024),
            ("pax header of 2 MiB", headerBlock("PaxHeaders.0/f", flag: "x", size: 2 << 20) + trailer,
             .extensionTooLarge(size: 2 << 20, limit: 1 << 20), "PaxHeaders.0/f", 0),
            ("GNU long name of 100 MiB", headerBlock("././@LongLink", flag: "L", size: 100 << 20) + trailer,
             .extensionTooLarge(size: 100 << 20, limit: 1 << 20), "././@LongLink", 0),
            ("many pax headers for one entry", manyPAXHeaders, .extensionTooLarge(size: 1_200_000, limit: 1 << 20), "PaxHeaders.0/f", 3 * 300_544),
            ("pax header then end of stream", paxEntry("12 path=abc\n"), .missingEntryAfterExtension, nil, 1024),
            ("GNU long name then zero blocks", headerBlock("././@LongLink", flag: "L", size: 3) + padded([0x61, 0x62, 0]) + trailer,
             .missingEntryAfterExtension, nil, 1024),
            ("zero block then data", headerBlock("a") + zeroBlock + headerBlock("b") + trailer, .dataAfterZeroBlock, nil, 1024),
            // Owners past 32 bits or negative: a caller making a uid_t of them trapped (SIGILL).
            ("pax uid past 32 bits", paxEntry("18 uid=4294967296\n") + headerBlock("f") + trailer, .invalidNumber(field: "uid"), "f", 1024),
            ("pax gid of Int64.max", paxEntry("27 gid=9223372036854775807\n") + headerBlock("f") + trailer, .invalidNumber(field: "gid"), "f", 1024),
            ("negative base-256 uid", headerBlock("u") { $0.bytes.replaceSubrange(TarBlock.Field.uid, with: [UInt8](repeating: 0xFF, count: 8)) } + trailer,
             .invalidNumber(field: "uid"), "u", 0),
            ("partial block at the end", headerBlock("a") + [UInt8](repeating: 7, count: 100), .truncated, nil, 612),
        ]
        for (label, bytes, kind, entry, offset) in cases {
            for chunk in [Int.max, 7] {
                XCTAssertThrowsError(try readArchive(bytes, chunk: chunk), label) { error in
                    guard let e = error as? TarError else { return XCTFail("\(label): not a TarError: \(error)") }
                    if case .badChecksum = kind, case .badChecksum = e.kind {} else { XCTAssertEqual(e.kind, kind, label) }
                    XCTAssertEqual(e.entry, entry, "\(label): \(e)")
                    XCTAssertEqual(e.offset, offset, "\(label): \(e)")
                    XCTAssertFalse(e.description.isEmpty)
                }
            }
        }
    }

    func testErrorsAreSticky() throws {
        let reader = TarReader(source: MemorySource(Array(valid.prefix(517))))
        XCTAssertEqual(try reader.next()?.name, "a")
        var buf = [UInt8](repeating: 0, count: 100)
        XCTAssertEqual(try buf.withUnsafeMutableBytes { try reader.readBody(into: $0) }, 5)
        XCTAssertThrowsError(try buf.withUnsafeMutableBytes { try reader.readBody(into: $0) })
        XCTAssertThrowsError(try reader.next()) { XCTAssertEqual(($0 as? TarError)?.kind, .truncated) }
    }

    /// The three end-of-archive rules, plus what may follow two zero blocks.
    func testEndOfArchiveRules() throws {
        let entry = headerBlock("a", size: 10) + padded(Array("0123456789".utf8))
        let cases: [(String, [UInt8])] = [
            ("clean end of stream at a header boundary", entry),
            ("one zero block then end of stream", entry + zeroBlock),
            ("two zero blocks", entry + trailer),
            ("two zero blocks then record padding", entry + trailer + [UInt8](repeating: 0, count: 10240 - 2048)),
            ("two zero blocks then anything", entry + trailer + Array("not read".utf8)),
        ]
        for (label, bytes) in cases {
            let entries = try readArchive(bytes)
            XCTAssertEqual(entries.map(\.header.name), ["a"], label)
            XCTAssertEqual(entries.first?.body, Array("0123456789".utf8), label)
        }
        XCTAssertEqual(try readArchive([]).count, 0, "an empty stream is an empty archive")
    }

    /// GNU tar accepts checksums computed over signed chars (old tars on signed-char machines).
    func testSignedAndUnsignedChecksums() throws {
        let name: [UInt8] = [0xC3, 0xA9, 0xFF, 0x80]
        var block = TarBlock(bytes: headerBlock("x"))
        block.bytes.replaceSubrange(0..<100, with: name + [UInt8](repeating: 0, count: 96))
        block.storeChecksum()
        XCTAssertEqual(try readArchive(block.bytes + trailer).map(\.header.name), [TarPath(bytes: name)])

        let signed = block.checksums().signed
        XCTAssertNotEqual(signed, block.checksums().unsigned)
        let digits = String(signed, radix: 8)
        block.bytes.replaceSubrange(TarBlock.Field.checksum, with: Array((String(repeating: "0", count: 6 - digits.count) + digits + "\0 ").utf8))
        XCTAssertEqual(try readArchive(block.bytes + trailer).map(\.header.name), [TarPath(bytes: name)])
    }

    func testNumericFields() {
        let cases: [([UInt8], Int64?)] = [
            (Array("0000644\0".utf8), 0o644),
            (Array("    644 ".utf8), 0o644),
            (Array("644\0\0\0\0\0".utf8), 0o644),
            ([UInt8](repeating: 0, count: 8), 0),
            (Array("        ".utf8), 0),
            (Array("0008\0".utf8), nil),
            (Array("12 34\0".utf8), nil),
            (Array("-12\0".utf8), nil),
            ([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00], 256),
            ([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], -1),
            ([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00], -256),
            ([0x80, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], Int64.max),
            ([0x80, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0], nil),
            ([0x80, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], nil),
            (Array("777777777777777777777777".utf8), nil),
        ]
        for (bytes, want) in cases {
            XCTAssertEqual(TarFieldParser.parseNumeric(bytes[...]), want, "\(bytes)")
        }
    }

    /// Seeded mutation fuzzing: 3000 damaged variants of valid archives (StreamTar's own with
    /// pax headers; GNU tar's gnu, oldgnu and pax output when GNU tar is installed) must each
    /// read fully or throw a TarError.
    /// Command for the GNU tar inputs: tar --format=F -cf F.tar -C tree .   (F = gnu, oldgnu, pax)
    func testMutationFuzzNeverCrashes() throws {
        var rng = SeededRandom(seed: 0xF022)
        var seeds: [[UInt8]] = []

        // StreamTar archive with pax records (long names and link, big uid, negative time).
        let sink = MemorySink()
        let writer = TarWriter(sink: sink)
        let headers = [
            TarHeader(name: TarPath(bytes: pathOfLength(180, top: "long")), size: 700, modificationTime: TarTime(seconds: -5, nanoseconds: 7)),
            TarHeader(name: "dir", kind: .directory, mode: 0o755),
            TarHeader(name: "dir/link", kind: .symbolicLink, linkName: TarPath(String(repeating: "t", count: 150))),
            TarHeader(name: "owner", uid: 5_000_000, userName: "someone", size: 1),
            TarHeader(name: "plain", size: 1025),
        ]
        for header in headers {
            try writer.writeHeader(header)
            try rng.bytes(Int(header.size)).withUnsafeBytes { try writer.writeBody($0) }
        }
        try writer.finish()
        seeds.append(sink.bytes)

        if findExecutable("tar") != nil {
            let tmp = try makeTemporaryDirectory(self)
            let tree = Array(tmp.appendingPathComponent("tree").path.utf8)
            try check(mkdir(cPath(tree), 0o755), "mkdir", tree)
            let longFile = pathOfLength(170, top: "d")
            try buildTree(parentDirectories(of: [longFile], existing: []) + [
                TreeSpec(path: longFile, node: .file(rng.bytes(600))),
                TreeSpec(path: Array("d/s".utf8), node: .symlink(Array(String(repeating: "k", count: 120).utf8))),
                TreeSpec(path: Array("d/old".utf8), node: .file([1]), mtime: -100),
            ], under: tree)
            for format in ["gnu", "oldgnu", "pax"] {
                let out = tmp.appendingPathComponent("\(format).tar")
                let r = try runTool("tar", ["--format=\(format)", "-cf", out.path, "-C", String(decoding: tree, as: UTF8.self), "."])
                XCTAssertEqual(r.status, 0, r.stderr)
                seeds.append(try readFile(out))
            }
        }
        for seed in seeds { XCTAssertNoThrow(try readArchive(seed), "seed archives are valid") }

        var failures = 0
        var successes = 0
        for _ in 0..<3000 {
            var bytes = seeds.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                guard !bytes.isEmpty else { break }
                // Half the mutations hit the header fields of some block, where parsing happens.
                let block = Int.random(in: 0..<max(1, bytes.count / 512), using: &rng)
                let position = Bool.random(using: &rng)
                    ? min(bytes.count - 1, block * 512 + Int.random(in: 0..<350, using: &rng))
                    : Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<6, using: &rng) {
                case 0: bytes[position] ^= 1 << UInt8.random(in: 0...7, using: &rng)
                case 1: bytes[position] = UInt8.random(in: 0...255, using: &rng)
                case 2: bytes.removeSubrange(position...)
                case 3: bytes.insert(contentsOf: rng.bytes(Int.random(in: 1...600, using: &rng)), at: position)
                case 4: bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...600, using: &rng)))
                default:
                    // Plant a hostile number (huge, negative or garbage) in a numeric field, checksum fixed up.
                    let start = block * 512
                    guard start + 512 <= bytes.count else { continue }
                    var b = TarBlock(bytes: Array(bytes[start..<(start + 512)]))
                    let field = [TarBlock.Field.size, TarBlock.Field.mtime, TarBlock.Field.uid, TarBlock.Field.mode].randomElement(using: &rng)!
                    let value: [UInt8] = [[0xFF], [0x80], [0x30], [0x7A]].randomElement(using: &rng)! + rng.bytes(field.count - 1)
                    b.bytes.replaceSubrange(field, with: value)
                    b.storeChecksum()
                    bytes.replaceSubrange(start..<(start + 512), with: b.bytes)
                }
            }
            do {
                _ = try readArchive(bytes, chunk: Int.random(in: 1...5000, using: &rng), maxEntries: 10_000)
                successes += 1
            } catch is TarError {
                failures += 1
            } catch {
                XCTFail("not a TarError: \(error)")
            }
        }
        // Both outcomes must occur, or the mutations were not exercising the parser.
        XCTAssertGreaterThan(failures, 300)
        XCTAssertGreaterThan(successes, 100)
    }
}
