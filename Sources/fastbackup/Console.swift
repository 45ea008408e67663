import Foundation

/// Where the command's lines go: Magento's lines to stdout, warnings and errors to stderr.
enum Console {
    static func line(_ text: String) {
        FileHandle.standardOutput.write((text + "\n").data(using: .utf8)!)
    }

    static func success(_ text: String) { line("[SUCCESS]: " + text) }

    static func warning(_ text: String) {
        Progress.shared.clearLine()
        FileHandle.standardError.write(("fastbackup: warning: " + text + "\n").data(using: .utf8)!)
    }

    static func error(_ text: String) {
        Progress.shared.clearLine()
        FileHandle.standardError.write((text + "\n").data(using: .utf8)!)
    }

    static var verbose = false

    static func detail(_ text: String) {
        if verbose { FileHandle.standardError.write(("fastbackup: " + text + "\n").data(using: .utf8)!) }
    }
}
