import Foundation
import XCTest
@testable import fastbackup
import TestSupport

/// Maintenance flag ownership, the order of error and clean-up lines, and output names that
/// two runs chose at once.
final class MaintenanceSafetyTests: XCTestCase {
    // MARK: maintenance flag, output name

    /// An error is printed before maintenance mode is turned off, as Magento does.
    func testErrorPrintsBeforeMaintenanceIsDisabled() throws {
        let t = try TempTree("order")
        try t.dir("app/etc")
        try t.dir("pub/media")
        try t.file("var/backups", "a file where the folder should be")
        let r = try runProcess(["/bin/bash", "-c", "exec '\(fastbackupBinary)' setup:backup --code --root '\(t.path)' 2>&1"])
        XCTAssertEqual(r.status, 1, r.stdout)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "Enabling maintenance mode")
        XCTAssertEqual(lines.last, "Disabling maintenance mode", r.stdout)
        XCTAssertGreaterThan(lines.count, 2, "the error must be printed: \(r.stdout)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/var/.maintenance.flag"))
    }

    /// The flag we write names us; a flag naming a fastbackup process that is gone is taken
    /// over and removed at the end; one naming a live process is left alone.
    func testFlagLeftByAKilledRunIsTakenBack() throws {
        let dead = Process()
        dead.executableURL = URL(fileURLWithPath: "/bin/true")
        try dead.run()
        dead.waitUntilExit()
        let cases: [(content: String, firstLine: String, lastLine: String, flagRemains: Bool)] = [
            ("fastbackup \(dead.processIdentifier)\n",
             "Maintenance mode was left on by an interrupted fastbackup run (pid \(dead.processIdentifier)); it will be turned off at the end.",
             "Disabling maintenance mode", false),
            ("fastbackup \(getpid())\n", "Maintenance mode already enabled", "Skipped disabling maintenance mode", true),
            ("", "Maintenance mode already enabled", "Skipped disabling maintenance mode", true),
        ]
        for c in cases {
            let t = try TempTree("flag")
            try t.dir("app/etc")
            try t.file("pub/media/x.jpg", "jpg")
            try t.file("var/.maintenance.flag", c.content)
            let r = try fastbackup(["setup:backup", "--media", "--root", t.path])
            XCTAssertEqual(r.status, 0, r.stderr)
            let lines = r.stdout.split(separator: "\n").map(String.init)
            XCTAssertEqual(lines.first, c.firstLine, c.content)
            XCTAssertEqual(lines.last, c.lastLine, c.content)
            XCTAssertEqual(FileManager.default.fileExists(atPath: t.path + "/var/.maintenance.flag"), c.flagRemains, c.content)
        }
    }

    func testFlagWeCreateNamesThisProcess() throws {
        let t = try TempTree("mine")
        try t.dir("app/etc")
        try t.dir("var")
        let mode = MaintenanceMode(root: try MagentoRoot(t.path))
        try mode.enable()
        let content = try String(contentsOfFile: t.path + "/var/.maintenance.flag", encoding: .utf8)
        mode.disable()
        XCTAssertEqual(content, "fastbackup \(getpid())\n")
        XCTAssertEqual(MaintenanceMode.markerPID(content), getpid())
        XCTAssertFalse(FileManager.default.fileExists(atPath: t.path + "/var/.maintenance.flag"))
    }

    /// Two outputs that both chose one name (two runs in the same second): the second commit
    /// fails and the first file is kept, instead of being silently replaced.
    func testSecondOutputOnTheSameNameFailsAndKeepsTheFirst() throws {
        let t = try TempTree("out")
        let path = t.path + "/1_filesystem_code.tgz"
        let first = try AtomicOutputFile(finalPath: path)
        let second = try AtomicOutputFile(finalPath: path)
        XCTAssertEqual(write(first.fd, "first", 5), 5)
        XCTAssertEqual(write(second.fd, "second", 6), 6)
        try first.commit()
        XCTAssertThrowsError(try second.commit()) { XCTAssertTrue("\($0)".contains("already exists"), "\($0)") }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "first")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: t.path), ["1_filesystem_code.tgz"])
    }
}
