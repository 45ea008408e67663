/// An error the command reports with its message and exit code 1. Messages are made at the
/// command line's edge; the layers below throw typed errors (ExtractError, TarError,
/// CompressionError, DBError, SystemCallError) or, where they have not been moved yet, this.
struct CommandError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
