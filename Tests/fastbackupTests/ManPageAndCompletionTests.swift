import Foundation
import TestSupport
import XCTest

/// The manual page and the bash completion are rendered from the same table as `--help`: every
/// option `--help` lists is in both, the page formats without a warning, and the completion
/// offers commands, options and the backups in var/backups.
final class ManPageAndCompletionTests: XCTestCase {
    private let commands = ["setup:backup", "setup:rollback", "info:backups:list", "info:backups:verify"]

    /// The long options a command's `--help` prints.
    private func helpOptions(_ command: String) throws -> [String] {
        let r = try fastbackup([command, "--help"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout.split(separator: "\n").compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("--") }.map { String($0.split(separator: "=")[0]) }
        }
    }

    func testManPageHoldsEveryOptionOfHelpAndFormatsCleanly() throws {
        try requireTool("groff")
        let page = try fastbackup(["help:man"])
        XCTAssertEqual(page.status, 0, page.stderr)
        let folder = try TemporaryFolder("manpage")
        try page.stdout.write(toFile: folder.path("fastbackup.1"), atomically: false, encoding: .utf8)
        let warnings = try runProcess(["/usr/bin/groff", "-man", "-Tutf8", "-ww", "-z", folder.path("fastbackup.1")])
        XCTAssertEqual(warnings.stderr, "", "groff warns about the page")
        let text = try sh("groff -man -Tascii -P-cbou '\(folder.path("fastbackup.1"))'")
        for command in commands {
            XCTAssertTrue(text.contains(command.uppercased()), "no section for \(command)")
            for option in try helpOptions(command) {
                XCTAssertTrue(text.contains(option), "\(command) \(option) is in --help but not in the man page")
            }
        }
        for section in ["EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES"] { XCTAssertTrue(text.contains(section), section) }
    }

    /// Completion as bash runs it: COMP_LINE and COMP_POINT set (COMP_WORDS too, broken at `:`
    /// as bash breaks them), the function called, COMPREPLY printed. The replies are what bash
    /// puts in place of the text after the line's last blank or `:`.
    private func complete(_ line: String, root: String) throws -> [String] {
        try requireTool("bash")
        let folder = try TemporaryFolder("completion")
        let script = try fastbackup(["help:completion"])
        XCTAssertEqual(script.status, 0, script.stderr)
        try script.stdout.write(toFile: folder.path("fastbackup.bash"), atomically: false, encoding: .utf8)
        let escaped = line.replacingOccurrences(of: "'", with: "'\\''")
        let r = try runProcess(["/bin/bash", "-c", """
            source '\(folder.path("fastbackup.bash"))'
            COMP_LINE='\(escaped)'; COMP_POINT=${#COMP_LINE}
            COMP_WORDS=($(sed 's/:/ : /g' <<<"$COMP_LINE")); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
            _fastbackup; printf '%s\\n' "${COMPREPLY[@]}"
            """], cwd: root)
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout.split(separator: "\n").map(String.init)
    }

    func testCompletionOffersCommandsOptionsAndBackups() throws {
        let t = try makeSmallStore()
        for name in ["1700000000_filesystem_media.tgz", "1700000000_filesystem_code.tgz", "1700000000_db.sql.gz", "notes.txt"] {
            try t.file("var/backups/" + name, "x")
        }
        XCTAssertEqual(try complete("fastbackup setup:ro", root: t.path), ["rollback"])
        XCTAssertEqual(try complete("fastbackup info:backups:v", root: t.path), ["verify"])
        XCTAssertEqual(try complete("fastbackup he", root: t.path), ["help:man", "help:completion"])
        XCTAssertEqual(Set(try complete("fastbackup setup:backup --co", root: t.path)), ["--code", "--compression"])
        XCTAssertEqual(try complete("fastbackup setup:backup --no-m", root: t.path), ["--no-maintenance"])
        XCTAssertEqual(try complete("fastbackup setup:rollback -m ", root: t.path), ["1700000000_filesystem_media.tgz"])
        XCTAssertEqual(try complete("fastbackup setup:rollback -d ", root: t.path), ["1700000000_db.sql.gz"])
        XCTAssertEqual(try complete("fastbackup setup:rollback --root \(t.path) -c 17", root: "/"), ["1700000000_filesystem_code.tgz"])
        for command in commands {
            let offered = Set(try complete("fastbackup \(command) --", root: t.path))
            for option in try helpOptions(command) { XCTAssertTrue(offered.contains(option), "\(command) \(option) is not completed") }
        }
    }
}
