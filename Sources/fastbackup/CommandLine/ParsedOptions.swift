/// One option a command accepts.
struct OptionSpec {
    let long: String
    let short: Character?
    let takesValue: Bool
    let repeatable: Bool
    let help: String
    let valueName: String

    static func flag(_ long: String, short: Character? = nil, _ help: String) -> OptionSpec {
        OptionSpec(long: long, short: short, takesValue: false, repeatable: false, help: help, valueName: "")
    }

    static func value(_ long: String, short: Character? = nil, _ valueName: String, _ help: String,
                      repeatable: Bool = false) -> OptionSpec {
        OptionSpec(long: long, short: short, takesValue: true, repeatable: repeatable, help: help, valueName: valueName)
    }
}

extension OptionSpec {
    /// Symfony's options every `bin/magento` command accepts, so scripts written for it keep
    /// working: `-n` (nothing here asks but the rollback), `-q`, `--ansi`/`--no-ansi` (no colours
    /// are written either way). A command's own spec of the same name wins.
    static let symfonyGlobals: [OptionSpec] = [
        .flag("no-interaction", short: "n", "Do not ask any interactive question"),
        .flag("quiet", short: "q", "Do not print Magento's progress lines (errors still go to stderr)"),
        .flag("ansi", "Accepted for bin/magento compatibility (no colours are written)"),
        .flag("no-ansi", "Accepted for bin/magento compatibility"),
        .flag("verbose", short: "v", "More detail on stderr (-vv and -vvv are the same)"),
    ]

    /// The database overrides and the options every command that touches a store shares.
    static let databaseAndCommon: [OptionSpec] = [
        .value("db-host", "HOST", "Database host, host:port or socket path (overrides env.php)"),
        .value("db-name", "NAME", "Database name (overrides env.php)"),
        .value("db-user", "USER", "Database user (overrides env.php); password from FASTBACKUP_DB_PASSWORD"),
        .flag("verbose", short: "v", "Print the limits and pools in use"),
        .flag("help", short: "h", "Display this help message"),
    ]
}

/// Usage mistakes, worded as Magento's Symfony console words them.
struct UsageError: Error, CustomStringConvertible {
    let description: String
}

/// The options given to one command, after parsing.
struct ParsedOptions {
    private(set) var values: [String: [String]] = [:]
    private(set) var flags: Set<String> = []
    /// Arguments that are not options, for commands that take them (`acceptsNames`).
    private(set) var positional: [String] = []

    func has(_ long: String) -> Bool { flags.contains(long) || values[long] != nil }
    func value(_ long: String) -> String? { values[long]?.last }
    func all(_ long: String) -> [String] { values[long] ?? [] }

    func int(_ long: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = value(long) else { return nil }
        guard let n = Int(text), range.contains(n) else {
            throw UsageError(description: "--\(long) takes a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'.")
        }
        return n
    }

    /// Parses `--name value`, `--name=value`, `-x value`, `-xvalue` and flags. Positional
    /// arguments are refused: no command here takes one.
    static func parse(_ args: [String], specs commandSpecs: [OptionSpec], acceptsNames: Bool = false) throws -> ParsedOptions {
        let specs = commandSpecs + OptionSpec.symfonyGlobals.filter { g in
            !commandSpecs.contains { $0.long == g.long || ($0.short != nil && $0.short == g.short) }
        }
        var parsed = ParsedOptions()
        var i = 0
        func spec(long: String) -> OptionSpec? { specs.first { $0.long == long } }
        func add(_ spec: OptionSpec, _ value: String?) throws {
            if let value {
                if !spec.repeatable, parsed.values[spec.long] != nil, parsed.values[spec.long] != [value] {
                    throw UsageError(description: "The \"--\(spec.long)\" option was given more than once.")
                }
                parsed.values[spec.long, default: []].append(value)
            } else {
                parsed.flags.insert(spec.long)
            }
        }
        while i < args.count {
            let arg = args[i]
            i += 1
            if arg.hasPrefix("--") {
                let body = arg.dropFirst(2)
                let name = String(body.split(separator: "=", maxSplits: 1).first ?? "")
                guard let s = spec(long: name) else {
                    throw UsageError(description: "The \"--\(name)\" option does not exist.")
                }
                if let eq = body.firstIndex(of: "=") {
                    guard s.takesValue else {
                        throw UsageError(description: "The \"--\(name)\" option does not accept a value.")
                    }
                    try add(s, String(body[body.index(after: eq)...]))
                } else if s.takesValue {
                    guard i < args.count else {
                        throw UsageError(description: "The \"--\(name)\" option requires a value.")
                    }
                    try add(s, args[i])
                    i += 1
                } else {
                    try add(s, nil)
                }
            } else if arg.hasPrefix("-"), arg.count > 1 {
                var chars = Substring(arg.dropFirst())
                while let c = chars.first {
                    chars = chars.dropFirst()
                    guard let s = specs.first(where: { $0.short == c }) else {
                        throw UsageError(description: "The \"-\(c)\" option does not exist.")
                    }
                    if s.takesValue {
                        if !chars.isEmpty {
                            try add(s, String(chars.hasPrefix("=") ? chars.dropFirst() : chars))
                        } else {
                            guard i < args.count else {
                                throw UsageError(description: "The \"--\(s.long)\" option requires a value.")
                            }
                            try add(s, args[i])
                            i += 1
                        }
                        break
                    }
                    try add(s, nil)
                }
            } else if acceptsNames {
                parsed.positional.append(arg)
            } else {
                throw UsageError(description: "No arguments expected, got \"\(arg)\".")
            }
        }
        return parsed
    }
}

/// Renders `--help` for a command from its option list.
func helpText(command: String, summary: String, usage: String, specs: [OptionSpec]) -> String {
    var lines = ["Description:", "  \(summary)", "", "Usage:", "  fastbackup \(command) \(usage)", "", "Options:"]
    let rendered = specs.map { s -> (String, String) in
        var left = s.short.map { "-\($0), " } ?? "    "
        left += "--\(s.long)"
        if s.takesValue { left += "=\(s.valueName)" }
        return (left, s.help + (s.repeatable ? " (repeatable)" : ""))
    }
    let width = (rendered.map(\.0.count).max() ?? 0) + 2
    for (left, help) in rendered {
        lines.append("  " + left.padding(toLength: width, withPad: " ", startingAt: 0) + help)
    }
    return lines.joined(separator: "\n")
}
