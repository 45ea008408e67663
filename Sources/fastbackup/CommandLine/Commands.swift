/// Every command: its name, summary, usage line and options, in one table that `--help`, the
/// manual page (``ManPage``) and the shell completion (``Completion``) are all rendered from.
struct CommandInfo {
    let name: String
    let summary: String
    let usage: String
    let specs: [OptionSpec]
    let run: ([String]) throws -> Int32

    /// `--help`.
    var help: String { helpText(command: name, summary: summary, usage: usage, specs: specs) }

    /// The options `--help` lists, the Symfony console's global ones included.
    var allSpecs: [OptionSpec] {
        specs + OptionSpec.symfonyGlobals.filter { g in !specs.contains { $0.long == g.long || ($0.short != nil && $0.short == g.short) } }
    }
}

enum Commands {
    static let all: [CommandInfo] = [
        CommandInfo(name: "setup:backup", summary: "Takes backup of Magento Application code base, media and database",
                    usage: "[--code] [--media] [--db] [options]", specs: BackupCommand.specs, run: BackupCommand.run),
        CommandInfo(name: "setup:rollback", summary: "Rolls back Magento Application codebase, media and database",
                    usage: "[-c|--code-file=CODE-FILE] [-m|--media-file=MEDIA-FILE] [-d|--db-file=DB-FILE] [-n] [options]",
                    specs: RollbackCommand.specs, run: RollbackCommand.run),
        CommandInfo(name: "info:backups:list", summary: "Prints list of available backup files",
                    usage: "[options]", specs: ListCommand.specs, run: ListCommand.run),
        CommandInfo(name: "info:backups:verify", summary: "Reads backup files through and checks that they would restore",
                    usage: "[NAME...] [--all] [options]", specs: VerifyCommand.specs, run: VerifyCommand.run),
        CommandInfo(name: "db:groups", summary: "Lists the table groups --strip takes (n98-magerun2's) and the tables each names here",
                    usage: "[options]", specs: GroupsCommand.specs, run: GroupsCommand.run),
        CommandInfo(name: "help:man", summary: "Prints the manual page (roff, for man -l -)",
                    usage: "", specs: [], run: { _ in Console.line(ManPage.render()); return 0 }),
        CommandInfo(name: "help:completion", summary: "Prints the bash completion script",
                    usage: "", specs: [], run: { _ in Console.line(Completion.bash()); return 0 }),
    ]

    static func named(_ name: String) -> CommandInfo { all.first { $0.name == name }! }
}
