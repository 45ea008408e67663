import Foundation
import XCTest
@testable import fastbackup

/// The expanded size read from the members' own size fields, without inflating: exact for
/// fastbackup's gzip and zstd archives (checked against `gzip -dc | wc -c` and `zstd -dc`), the
/// file's size and `exact: false` for a foreign archive (`tar -czf`).
final class ArchiveSizeTests: XCTestCase {
    func testOwnArchivesStateTheirSizeAndForeignOnesDoNot() throws {
        try requireTool("tar")
        let store = try makeSmallStore()
        try sh("head -c 9000000 /dev/urandom > '\(store.path)/pub/media/big.bin'")
        for codec in ["gzip", "zstd"] {
            if codec == "zstd" { try requireTool("zstd") }
            let r = try fastbackup(["setup:backup", "--media", "--compression", codec, "--chunk-size", "1", "--root", store.path])
            XCTAssertEqual(r.status, 0, r.stderr)
            let archive = try sh("ls -t '\(store.path)'/var/backups/*media* | head -1").trimmingCharacters(in: .whitespacesAndNewlines)
            let tool = codec == "gzip" ? "gzip" : "zstd"
            let expanded = Int64(try sh("\(tool) -dc '\(archive)' | wc -c").trimmingCharacters(in: .whitespacesAndNewlines))!
            let size = ArchiveSize.of(archive)
            XCTAssertTrue(size.exact, codec)
            XCTAssertEqual(size.bytes, expanded, codec)
            try sh("rm -f '\(archive)'")
        }
        let foreign = store.path + "/var/backups/1_filesystem_media.tgz"
        try sh("cd '\(store.path)' && tar -czf '\(foreign)' pub/media")
        let size = ArchiveSize.of(foreign)
        XCTAssertFalse(size.exact)
        XCTAssertEqual(size.bytes, Int64(try sh("stat -c %s '\(foreign)'").trimmingCharacters(in: .whitespacesAndNewlines))!)
    }
}
