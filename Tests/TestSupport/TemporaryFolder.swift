import Foundation

/// A fresh folder under the temporary directory (mkdtemp), removed with everything in it when
/// the last reference goes: the one temporary folder of all test targets. Removal runs
/// `rm -rf`, which also clears folders a test left without write permission.
open class TemporaryFolder {
    public let path: String
    public var url: URL { URL(fileURLWithPath: path) }

    public init(_ label: String = "fastbackup-test") throws {
        let base = URL(fileURLWithPath: NSTemporaryDirectory()).standardizedFileURL.path
        var template = Array("\(base)/\(label).XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        path = String(cString: made)
    }

    private var removed = false

    deinit { remove() }

    /// Removes the folder now. XCTest keeps a test case's teardown blocks, and what they
    /// capture, until the process ends, so a folder captured there must be removed by a call
    /// rather than by its last reference going.
    public func remove() {
        guard !removed else { return }
        removed = true
        let rm = Process()
        rm.executableURL = URL(fileURLWithPath: "/bin/rm")
        rm.arguments = ["-rf", path]
        if (try? rm.run()) != nil { rm.waitUntilExit() }
    }

    /// The path of `name` inside the folder.
    public func path(_ name: String) -> String { path + "/" + name }
}
