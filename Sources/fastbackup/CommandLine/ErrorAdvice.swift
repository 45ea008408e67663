import Foundation

/// What a person can do about an error, added to its message at the command line's edge: the
/// layers below state what failed and leave the options (`--in-place`, `--skip-space-check`)
/// to the command that has them.
enum ErrorAdvice {
    static func message(for error: Error, command: String) -> String {
        var text = "\(error)"
        guard command == "setup:rollback" else { return text }
        if let e = error as? ExtractError, e.isOutOfSpace {
            text += ". The filesystem cannot hold the restored copy beside the live tree; free some space, or rerun with --in-place to extract over the live tree."
        } else if let e = error as? SwapRefusedError {
            text += " Rerun with --in-place to extract over the live tree (Magento's way; a failure midway then leaves a mixed tree)"
            text += e.reason == .mountPoint ? ", or unmount it first." : "."
        }
        return text
    }
}

/// Prints a command's error with its advice, as Magento prints a failed command's message.
func printCommandError(_ error: Error) {
    if let usage = error as? UsageError {
        Console.error(usage.description)
    } else {
        Console.error(ErrorAdvice.message(for: error, command: Console.command))
    }
}
