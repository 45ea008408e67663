/// Which tables a dump strips (structure, no rows) or leaves out, with n98-magerun2's rules:
///
/// - a token `@id` is a group (``TableGroups``), expanded recursively (each group once);
/// - a token with `*` (any run) or `?` (one character) matches whole table names, the store's
///   table prefix put in front of the pattern (n98 asks `SHOW TABLES LIKE prefix + pattern`);
/// - any other token is one table, named without the prefix; a name that does not exist is
///   left out silently, as n98 does.
/// - `include` given: every table it does not name is excluded; `exclude` adds to that, but an
///   included table always stays; a stripped table that is excluded is left out whole.
///
/// Views are tables here too (`SHOW TABLES` lists them), so a pattern can leave one out.
public struct TableSelection: Sendable, Equatable {
    public var strip: [String]
    public var include: [String]
    public var exclude: [String]
    /// `db.table_prefix` of env.php.
    public var prefix: String

    /// Option values may hold several tokens separated by spaces (`--strip "@log @sessions"`).
    public init(strip: [String] = [], include: [String] = [], exclude: [String] = [], prefix: String = "") {
        func tokens(_ values: [String]) -> [String] {
            values.flatMap { $0.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init) }
        }
        self.strip = tokens(strip)
        self.include = tokens(include)
        self.exclude = tokens(exclude)
        self.prefix = prefix
    }

    public var isEmpty: Bool { strip.isEmpty && include.isEmpty && exclude.isEmpty }

    public struct Resolved: Sendable, Equatable {
        public var stripped: Set<String> = []
        public var excluded: Set<String> = []
        public init() {}
    }

    public struct UnknownGroup: Error, CustomStringConvertible {
        public let name: String
        public var description: String {
            "No table group \(name); the groups are: " + TableGroups.all.map { "@" + $0.id }.joined(separator: " ")
        }
    }

    /// Checks every `@group` token exists, before anything connects.
    public func validate() throws {
        for token in strip + include + exclude where token.hasPrefix("@") {
            _ = try expand([token], tables: [], visited: [])
        }
    }

    /// The sets for a database holding `tables` (real names, prefix included).
    public func resolve(tables: [String]) throws -> Resolved {
        var r = Resolved()
        let all = Set(tables)
        if !include.isEmpty {
            let included = try expand(include, tables: tables, visited: [])
            r.excluded = all.subtracting(included)
            if !exclude.isEmpty { r.excluded = r.excluded.union(try expand(exclude, tables: tables, visited: [])).subtracting(included) }
        } else if !exclude.isEmpty {
            r.excluded = try expand(exclude, tables: tables, visited: [])
        }
        r.stripped = try expand(strip, tables: tables, visited: []).subtracting(r.excluded)
        return r
    }

    /// The tables one list of tokens names.
    public func expand(_ tokens: [String], tables: [String], visited: Set<String>) throws -> Set<String> {
        var out = Set<String>()
        var visited = visited
        for token in tokens where !token.isEmpty {
            if token.hasPrefix("@") {
                let id = String(token.dropFirst())
                guard let group = TableGroups.named(id) else { throw UnknownGroup(name: token) }
                if visited.insert(id).inserted { out.formUnion(try expand(group.tables, tables: tables, visited: visited)) }
            } else if token.contains("*") || token.contains("?") {
                let pattern = Array((prefix + token).utf8)
                for t in tables where Self.matches(Array(t.utf8)[...], pattern[...]) { out.insert(t) }
            } else if tables.contains(prefix + token) {
                out.insert(prefix + token)
            }
        }
        return out
    }

    /// Whole-name match: `*` any run (also empty), `?` exactly one byte, anything else itself.
    static func matches(_ name: ArraySlice<UInt8>, _ pattern: ArraySlice<UInt8>) -> Bool {
        var n = name.startIndex, p = pattern.startIndex
        var starP: Int? = nil, starN = 0
        while n < name.endIndex {
            if p < pattern.endIndex, pattern[p] == UInt8(ascii: "?") || pattern[p] == name[n] {
                n += 1; p += 1
            } else if p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") {
                starP = p; starN = n; p += 1
            } else if let s = starP {
                p = s + 1; starN += 1; n = starN
            } else {
                return false
            }
        }
        while p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.endIndex
    }
}
