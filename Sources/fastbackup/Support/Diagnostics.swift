import Glibc
import SystemCalls

/// Where the tree machinery reports what a person should see but what does not stop the work:
/// warnings (an entry skipped, a file that changed while read) and notes (a leftover removed).
/// The machinery knows no console; the command line passes its own (which honours `-q`), and
/// the default writes plain lines to stderr so that nothing is lost when a caller forgets.
struct Diagnostics: @unchecked Sendable {
    var warning: (String) -> Void
    var note: (String) -> Void

    static let standardError = Diagnostics(
        warning: { text in emit(STDERR_FILENO, "fastbackup: warning: " + text + "\n") },
        note: { text in emit(STDERR_FILENO, text + "\n") })
}

/// Writes all of `text`, retrying short writes and EINTR. A closed pipe (`| head`) or a full
/// disk behind stdout is not worth dying for: the write is dropped (SIGPIPE is ignored).
func emit(_ fd: Int32, _ text: String) {
    let bytes = Array(text.utf8)
    bytes.withUnsafeBytes { raw in try? FileDescriptor(rawValue: fd).writeAll(raw) }
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
