import DBStream
import Foundation

/// `db:groups`: n98-magerun2's table groups, as `--strip`, `--include-tables` and
/// `--exclude-tables` take them, and the tables each names on this store's database (its
/// `table_prefix` applied). Without a database to ask (no env.php, no server), the definitions.
enum GroupsCommand {
    static let specs: [OptionSpec] = [
        .value("root", "DIR", "Magento root (default: the current folder)"),
    ] + OptionSpec.databaseAndCommon

    static func run(_ args: [String]) throws -> Int32 {
        let opts = try ParsedOptions.parse(args, specs: specs)
        Console.quiet = opts.has("quiet")
        if opts.has("help") {
            Console.line(Commands.named("db:groups").help)
            return 0
        }
        var tables: [String]?
        var prefix = ""
        var unavailable = ""
        do {
            let config = try DatabaseSettings.load(root: try MagentoRoot(opts.value("root")), options: opts)
            prefix = config.tablePrefix
            let conn = try MySQLConnection(config: config, useDatabase: true)
            tables = try conn.query("SHOW TABLES").compactMap { $0.first ?? nil }
        } catch {
            unavailable = "\(error)"
        }
        let width = (TableGroups.all.map(\.id.count).max() ?? 0) + 1
        for group in TableGroups.all {
            Console.line("@\(group.id)".padding(toLength: width + 2, withPad: " ", startingAt: 0) + group.description + ".")
            Console.line(String(repeating: " ", count: width + 2) + "names: " + group.tables.joined(separator: " "))
            if let tables {
                let found = try TableSelection(prefix: prefix).expand(["@" + group.id], tables: tables, visited: []).sorted()
                Console.line(String(repeating: " ", count: width + 2) + "here: " + (found.isEmpty ? "(no table)" : "\(found.count) tables: " + found.joined(separator: " ")))
            }
        }
        if tables == nil { Console.line("(Not matched against a database: \(unavailable))") }
        return 0
    }
}
