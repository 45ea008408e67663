import Foundation

/// Where the command's lines go: Magento's lines to stdout, warnings and errors to stderr.
enum Console {
    static func line(_ text: String) {
        if !quiet { emit(STDOUT_FILENO, text + "\n") }
    }

    /// `-q`, as Symfony's console has it: no lines on stdout; warnings and errors still go to stderr.
    static var quiet = false

    static func success(_ text: String) { line("[SUCCESS]: " + text) }

    static func warning(_ text: String) {
        Progress.shared.clearLine()
        emit(STDERR_FILENO, "fastbackup: warning: " + text + "\n")
    }

    static func error(_ text: String) {
        Progress.shared.clearLine()
        emit(STDERR_FILENO, text + "\n")
    }

    static var verbose = false

    /// The command running (`setup:rollback`), for the advice added to its errors.
    static var command = ""

    static func detail(_ text: String) {
        if verbose { emit(STDERR_FILENO, "fastbackup: " + text + "\n") }
    }
}


extension Diagnostics {
    /// The tree machinery's warnings and notes as the commands print them (`-q` honoured).
    static let console = Diagnostics(warning: { Console.warning($0) }, note: { Console.line($0) })
}

extension Progress: ProgressReporting {}
