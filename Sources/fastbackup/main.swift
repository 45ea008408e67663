import Foundation

/// fastbackup: Magento 2's setup:backup, setup:rollback and info:backups:list, fast and safe.
let commands = Commands.all

func usage() -> String {
    var lines = ["fastbackup: Magento 2 backups, fast and safe.", "", "Usage:", "  fastbackup <command> [options]", "", "Available commands:"]
    for c in commands { lines.append("  " + c.name.padding(toLength: 20, withPad: " ", startingAt: 0) + c.summary) }
    lines.append("")
    lines.append("Run `fastbackup <command> --help` for a command's options.")
    return lines.joined(separator: "\n")
}

SignalGuard.shared.install()
// glibc gives each thread that allocates its own 64 MiB arena of address space; with one per
// pool thread that alone can pass a `ulimit -v` of 1 GiB. Four arenas are plenty here.
_ = glibcMallopt(-8 /* M_ARENA_MAX */, 4)
var arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first, !name.hasPrefix("-") || name == "--help" || name == "-h" else {
    Console.error(usage())
    exit(1)
}
if name == "--help" || name == "-h" || name == "help" || name == "list" {
    Console.line(usage())
    exit(0)
}
guard let command = commands.first(where: { $0.name == name }) else {
    Console.error("Command \"\(name)\" is not defined.\n\n" + usage())
    exit(1)
}
Console.command = command.name
do {
    exit(try command.run(Array(arguments.dropFirst())))
} catch {
    printCommandError(error)
    exit(1)
}

/// glibc's mallopt(3); <malloc.h> is not part of the Glibc module.
@_silgen_name("mallopt")
func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
