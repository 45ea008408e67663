import SystemCalls

/// Where the tree machinery reports what a person should see but what does not stop the work:
/// warnings (an entry skipped, a file that changed while read) and notes (a leftover removed).
/// The machinery knows no console; the command line passes its own (which honours `-q`), and
/// the default writes plain lines to stderr so that nothing is lost when a caller forgets.
struct Diagnostics: @unchecked Sendable {
    var warning: (String) -> Void
    var note: (String) -> Void

    static let standardError = Diagnostics(
        warning: { text in Diagnostics.write("fastbackup: warning: " + text + "\n") },
        note: { text in Diagnostics.write(text + "\n") })

    private static func write(_ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { try? FileDescriptor(rawValue: 2).writeAll($0) }
    }
}

/// Told of every entry a backup or a rollback handles, for a progress line.
protocol ProgressReporting: AnyObject {
    func add(bytes: Int, files: Int)
}

/// A failure of the tree machinery, with the message the command prints and, where a system
/// call said so, its errno.
struct TreeError: Error, CustomStringConvertible {
    let description: String
    let errno: Int32?

    init(_ message: String, errno: Int32? = nil) {
        description = message
        self.errno = errno
    }
}
