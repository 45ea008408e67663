import Foundation

/// What a person can do about an error, added to its message at the command line's edge: the
/// layers below state what failed and leave the options (`--in-place`, `--skip-space-check`)
/// to the command that has them.
enum ErrorAdvice {
    static func message(for error: Error, command: String) -> String {
        let text = "\(error)"
        switch error {
        case let e as StoreError where e.kind == .notEnoughSpace(rollback: false):
            return text + " Free some space, or use --skip-space-check if the data compresses well."
        case let e as StoreError where e.kind == .notEnoughSpace(rollback: true):
            return text + " Free some space, or rerun with --in-place to extract over the live tree (Magento's way; a failure midway then leaves a mixed tree)."
        case let e as ExtractError where e.isOutOfSpace && command == "setup:rollback":
            return text + ". The filesystem cannot hold the restored copy beside the live tree; free some space, or rerun with --in-place to extract over the live tree."
        case let e as SwapRefusedError:
            return text + " Rerun with --in-place to extract over the live tree (Magento's way; a failure midway then leaves a mixed tree)"
                + (e.reason == .mountPoint ? ", or unmount it first." : ".")
        default:
            return text
        }
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
