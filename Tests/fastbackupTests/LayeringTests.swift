import Foundation
import XCTest

/// The layers of Sources/ (README, "Layout") as a check the build cannot make yet: the generic
/// tree machinery lives in folders of the executable, so nothing but this test stops it from
/// reaching up into the command line or into Magento. Comments are not code and are skipped.
final class LayeringTests: XCTestCase {
    private func codeLines(in folder: String) throws -> [(file: String, line: Int, text: String)] {
        let dir = packageRoot + "/Sources/" + folder
        var out: [(String, Int, String)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() where name.hasSuffix(".swift") {
            let text = try String(contentsOfFile: dir + "/" + name, encoding: .utf8)
            for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.trimmingCharacters(in: .whitespaces)
                if code.hasPrefix("//") { continue }
                out.append((folder + "/" + name, i + 1, String(code)))
            }
        }
        return out
    }

    /// TreeArchive, TreeExtract and Support know no console, no command error, no store layout.
    func testGenericTreeMachineryKnowsNoCommandLineAndNoMagento() throws {
        let forbidden = ["CommandError", "Console.", "MagentoRoot", "BackupKind", "RollbackLayout", "BackupManifest",
                         "MaintenanceMode", "Progress.shared", "\"pub/media", "env.php", "--in-place", "--skip-space-check"]
        for folder in ["fastbackup/TreeArchive", "fastbackup/TreeExtract", "fastbackup/Support", "fastbackup/Offsite"] {
            for (file, line, text) in try codeLines(in: folder) {
                for word in forbidden where text.contains(word) {
                    XCTFail("\(file):\(line) uses \(word), which belongs to the command line or the Magento layer: \(text)")
                }
            }
        }
    }

    /// String errors belong to the command line: the store layer throws StoreError, whose
    /// failed system call stays a value.
    func testOnlyTheCommandLineThrowsStringErrors() throws {
        for folder in ["fastbackup/Magento", "fastbackup/Offsite", "fastbackup/TreeArchive", "fastbackup/TreeExtract", "fastbackup/Support"] {
            for (file, line, text) in try codeLines(in: folder) where Self.containsWord(text, "CommandError(") {
                XCTFail("\(file):\(line) throws a CommandError; throw a typed error (StoreError, TreeError) instead: \(text)")
            }
        }
    }

    /// DBStream knows MariaDB and SQL, not the store: env.php and its PHP values live in the
    /// Magento folder.
    func testDBStreamKnowsNoMagento() throws {
        for (file, line, text) in try codeLines(in: "DBStream") {
            for word in ["env.php", "EnvPHP", "PHPValue", "MagentoRoot", "app/etc"] where text.contains(word) {
                XCTFail("\(file):\(line) uses \(word), which belongs to the Magento layer: \(text)")
            }
        }
    }

    /// The system-call layer and the compressor stay free of Foundation (start-up time, and the
    /// layer under everything must not pull it in).
    func testSystemCallsThreadKitAndParallelGzipDoNotImportFoundation() throws {
        for folder in ["SystemCalls", "ThreadKit", "ParallelGzip"] {
            for (file, line, text) in try codeLines(in: folder) where text == "import Foundation" {
                XCTFail("\(file):\(line) imports Foundation")
            }
        }
    }

    /// One concurrency kit (ThreadKit): no target keeps a lock, a condition or a way of starting
    /// threads of its own.
    func testLocksAndThreadsComeFromThreadKit() throws {
        let forbidden = ["NSLock(", "NSCondition(", "NSRecursiveLock(", "Thread {", "Thread(", "pthread_create(", "DispatchSemaphore("]
        for folder in ["SystemCalls", "StreamTar", "ParallelGzip", "DBStream", "ObjectStore", "fastbackup/Offsite", "fastbackup/CommandLine", "fastbackup/Magento",
                       "fastbackup/TreeArchive", "fastbackup/TreeExtract", "fastbackup/Support"] {
            for (file, line, text) in try codeLines(in: folder) {
                for word in forbidden where Self.containsWord(text, word) {
                    XCTFail("\(file):\(line) uses \(word); use ThreadKit's Monitor and startThread: \(text)")
                }
            }
        }
    }

    /// Whether `word` occurs in `text` not preceded by a letter (`Thread(` but not `startThread(`).
    private static func containsWord(_ text: String, _ word: String) -> Bool {
        var rest = text[...]
        while let r = rest.range(of: word) {
            if r.lowerBound == text.startIndex || !text[text.index(before: r.lowerBound)].isLetter { return true }
            rest = rest[r.upperBound...]
        }
        return false
    }
}
