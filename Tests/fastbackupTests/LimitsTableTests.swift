import Foundation
import ParallelGzip
import XCTest
@testable import fastbackup

/// The README's "Limits and resources" table is the rules of `CommandLimits`, row for row: a
/// bound changed in the code without the README (or the reverse) fails here.
final class LimitsTableTests: XCTestCase {
    private func readmeRows() throws -> [(pool: String, bound: String)] {
        let text = try String(contentsOfFile: packageRoot + "/README.md", encoding: .utf8)
        guard let section = text.range(of: "## Limits and resources") else {
            XCTFail("README has no \"Limits and resources\" section"); return []
        }
        var rows: [(String, String)] = []
        for line in text[section.upperBound...].split(separator: "\n").prefix(40) {
            guard line.hasPrefix("| ") else { if !rows.isEmpty { break } else { continue } }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4, cells[1] != "pool", !cells[1].hasPrefix("---") else { continue }
            rows.append((cells[1], cells[2]))
        }
        return rows
    }

    func testReadmeTableIsTheCommandsRules() throws {
        let pools = CommandLimits.backup(compression: CompressionOptions()).pools + CommandLimits.rollback(jobs: 2).pools
        let rows = try readmeRows()
        XCTAssertEqual(rows.map(\.pool), pools.map(\.name), "the README's pools and the commands' pools differ")
        for (row, pool) in zip(rows, pools) where row.bound != pool.rule {
            XCTFail("README says of \(pool.name):\n  \(row.bound)\nthe code's rule is:\n  \(pool.rule)")
        }
    }

    /// `-v` prints every pool of the command with what it comes to on this machine.
    func testVerboseBackupPrintsEveryPool() throws {
        let store = try makeSmallStore()
        let r = try fastbackup(["setup:backup", "--code", "-v", "--root", store.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        for pool in CommandLimits.backup(compression: CompressionOptions()).pools {
            XCTAssertTrue(r.stderr.contains("limit: \(pool.name): "), "-v did not print \(pool.name): \(r.stderr)")
        }
    }
}
