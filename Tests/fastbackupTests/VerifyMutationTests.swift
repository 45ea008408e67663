import Foundation
import TestSupport
import XCTest
@testable import fastbackup

/// Seeded mutation run of the verifier over a real multi-member media archive: 3,000 damaged
/// variants (bits flipped, bytes replaced, cut, inserted, removed; half of them near a gzip
/// member's start, where the headers and the size field are). Each must give a report, never
/// a crash or a hang; a variant reported whole must hold exactly the original's entries and
/// bytes (a flipped MTIME byte of a member header changes nothing a restore reads).
/// Command for the archive: fastbackup setup:backup --media --chunk-size 1 (2 MB of seeded text).
final class VerifyMutationTests: XCTestCase {
    func testMutatedArchivesAreReportedNeverCrash() throws {
        let t = try makeSmallStore()
        var rng = SeededRandom(seed: 0xBAD5EED)
        let words = ["catalog", "product", "image", "cache", "media", "store", "price", "\n"]
        var text = ""
        while text.utf8.count < 2 << 20 { text += words[Int(rng.next() % UInt64(words.count))] + " " }
        try t.file("pub/media/text.txt", text)
        let r = try fastbackup(["setup:backup", "--media", "--chunk-size", "1", "--no-maintenance", "--root", t.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let path = try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("Media backup path: ") }
            .map { String($0.dropFirst("Media backup path: ".count)) })
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let verifier = BackupVerifier(settings: nil, threads: 2)
        let whole = verifier.verify(path, kind: .media)
        XCTAssertTrue(whole.ok, whole.damage ?? "")
        // Member starts (1f 8b 08), for aiming half the mutations at headers.
        var starts: [Int] = []
        for i in 0..<(original.count - 2) where original[i] == 0x1f && original[i + 1] == 0x8b && original[i + 2] == 8 { starts.append(i) }
        XCTAssertGreaterThanOrEqual(starts.count, 2, "the archive has one member: nothing to aim at between members")

        let folder = try TemporaryFolder("verify-mutation")
        let mutant = folder.path("1700000000_filesystem_media.tgz")
        var damaged = 0, intact = 0
        for _ in 0..<3000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                guard !bytes.isEmpty else { break }
                let position = Bool.random(using: &rng)
                    ? min(bytes.count - 1, starts.randomElement(using: &rng)! + Int.random(in: 0..<40, using: &rng))
                    : Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<5, using: &rng) {
                case 0: bytes[position] ^= 1 << UInt8.random(in: 0...7, using: &rng)
                case 1: bytes[position] = UInt8.random(in: 0...255, using: &rng)
                case 2: bytes.removeSubrange(position...)
                case 3: bytes.insert(contentsOf: rng.bytes(Int.random(in: 1...300, using: &rng)), at: position)
                default: bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...300, using: &rng)))
                }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: mutant))
            let report = verifier.verify(mutant, kind: .media)
            if report.ok {
                intact += 1
                XCTAssertEqual(report.entries, whole.entries, "a mutant reported whole lost or gained entries")
                XCTAssertEqual(report.bytes, whole.bytes, "a mutant reported whole lost or gained bytes")
            } else {
                damaged += 1
                XCTAssertFalse(report.damage?.isEmpty ?? true)
            }
        }
        XCTAssertGreaterThan(damaged, 2000, "most mutations must be found")
        XCTAssertGreaterThan(intact, 0, "some mutations (header MTIME, OS bytes) change nothing restored")
    }
}
