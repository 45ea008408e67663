/// An error the command reports with its message and exit code 1: the command line's own
/// (a lock held by another run, a folder it cannot list). The layers below throw typed
/// errors (StoreError, TreeError, ExtractError, TarError, CompressionError, DBError, S3Error,
/// SystemCallError), whose causes stay values; LayeringTests keeps this type at the edge.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
