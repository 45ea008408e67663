import XCTest
@testable import fastbackup
import TestSupport

/// EntryPathPolicy.normalise: names already in normal form are returned as they are, the rest
/// are rebuilt; both must agree with a plain reading of the rules on any name.
final class EntryPathPolicyTests: XCTestCase {
    /// The rules spelled out: absolute names and `..` are refused, empty and `.` components
    /// dropped, nil when nothing is left.
    private func reference(_ raw: [UInt8]) -> Result<[UInt8]?, Error> {
        if raw.first == UInt8(ascii: "/") { return .failure(UnsafeArchiveError(entry: "", reason: "absolute")) }
        var parts: [[UInt8]] = []
        for part in raw.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            if Array(part) == [UInt8(ascii: ".")] { continue }
            if Array(part) == [UInt8(ascii: "."), UInt8(ascii: ".")] { return .failure(UnsafeArchiveError(entry: "", reason: "..")) }
            parts.append(Array(part))
        }
        return .success(parts.isEmpty ? nil : Array(parts.joined(separator: [UInt8(ascii: "/")])))
    }

    func testNormaliseAgreesWithTheRulesOnSeededNames() throws {
        let policy = EntryPathPolicy()
        let pieces: [[UInt8]] = ["a", "bc", ".", "..", "", ".a", "a.", "...", "é"].map { Array($0.utf8) }
        var rng = SeededRandom(seed: 0x9E37_79B9_7F4A_7C15)
        func next() -> UInt64 { rng.next() }
        var normalForms = 0
        for _ in 0..<20_000 {
            let count = Int(next() % 5) + 1
            var name: [UInt8] = next() % 8 == 0 ? [UInt8(ascii: "/")] : []
            for k in 0..<count {
                if k > 0 { name.append(UInt8(ascii: "/")) }
                name += pieces[Int(next() % UInt64(pieces.count))]
            }
            if next() % 4 == 0 { name.append(UInt8(ascii: "/")) }
            switch reference(name) {
            case .success(let want):
                let got = try policy.normalise(name)
                XCTAssertEqual(got, want, name.displayString)
                if got == name { normalForms += 1 }
            case .failure:
                XCTAssertThrowsError(try policy.normalise(name), name.displayString)
            }
        }
        XCTAssertGreaterThan(normalForms, 1000, "the names exercise the fast path")
    }
}
