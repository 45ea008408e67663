/// The plain secondary keys of an InnoDB `CREATE TABLE`, split off so they are built once the
/// table's rows are in: InnoDB then sorts each key once instead of inserting every row into
/// every key's B-tree (with every secondary key moved after the data, the server's CPU for the
/// benchmark's 3 M rows fell from 27.1 to 19.9 s, 2026-11-27). The same idea as the generator
/// in Benchmarks/db and myloader's `--innodb-optimize-keys`. UNIQUE keys stay, except in
/// fastbackup's own dumps (see ``init(create:database:unique:)``).
///
/// Only tables where the result is the same table are split: InnoDB, a PRIMARY KEY (else
/// InnoDB would cluster on the first UNIQUE NOT NULL key), an AUTO_INCREMENT column only as
/// the primary key's first column, no foreign key on either side (see
/// ``referencedTables(_:)``), no FULLTEXT/SPATIAL key, hash-based or WITHOUT OVERLAPS
/// unique key, SERIAL, system versioning, partitioning, comments or `IF NOT EXISTS` (an existing
/// table would get its keys twice), and no key text beyond ASCII. The kept definitions stay
/// in their order, so the keys are listed in the same order afterwards.
struct DeferredKeys {
    /// The statement without the deferred keys.
    let create: [UInt8]
    /// `ALTER TABLE <name> ADD <key>, ADD <key>, ...` with each key as the dump wrote it.
    let build: [UInt8]
    /// Keys moved into ``build``.
    let count: Int

    /// Splits `text` (a whole `CREATE TABLE`), or nil when the table does not qualify.
    /// - Parameters:
    ///   - database: the session's database, which names the table in ``build`` when the
    ///     statement does not (the build may run after a USE).
    ///   - unique: hold back UNIQUE keys too. Only for fastbackup's own dumps: a consistent
    ///     snapshot of a table cannot break its own unique keys (short of a server that compares
    ///     strings otherwise), whereas in any other file a duplicate must fail its INSERT.
    init?(create text: [UInt8], database: String?, unique: Bool = false) {
        // A statement in a versioned comment (`/*M!110000 CREATE ...*/`) may be one the server skips.
        guard text.first != UInt8(ascii: "/"), !StatementKind.hasWord(text, "SERIAL"),
              !StatementKind.hasWord(text, "REFERENCES"), !StatementKind.hasWord(text, "FOREIGN"),
              !StatementKind.hasWord(text, "SELECT"), !StatementKind.hasWord(text, "LIKE"),
              !StatementKind.hasWord(text, "VERSIONING"), !StatementKind.hasWord(text, "PARTITION"),
              !StatementKind.hasWord(text, "FULLTEXT"), !StatementKind.hasWord(text, "SPATIAL"),
              !StatementKind.hasWord(text, "OVERLAPS"), !StatementKind.hasWord(text, "HASH")
        else { return nil }
        guard let parts = CreateTableText(text), parts.isInnoDB else { return nil }

        var kept: [ArraySlice<UInt8>] = [], deferred: [ArraySlice<UInt8>] = []
        var primaryFirstColumn: String?, autoIncrement: String?
        for def in parts.definitions {
            var d = Tokens(Array(def))
            switch d.word() {
            case "PRIMARY":
                guard d.word() == "KEY", let open = def.firstIndex(of: UInt8(ascii: "(")) else { return nil }
                var c = Tokens(Array(def[(open + 1)...]))
                primaryFirstColumn = c.name()?.lowercased()
                kept.append(def)
            case "UNIQUE":
                // Kept unless `unique`: a duplicate must fail its INSERT, as with the client, and
                // not a later build (the rows after it would be in, the table without the key).
                if unique { deferred.append(def) } else { kept.append(def) }
            case "KEY", "INDEX":
                deferred.append(def)
            case "CHECK":
                kept.append(def)
            case "CONSTRAINT":
                guard StatementKind.hasWord(Array(def), "CHECK"), !StatementKind.hasWord(Array(def), "UNIQUE"),
                      !StatementKind.hasWord(Array(def), "PRIMARY") else { return nil }
                kept.append(def)
            case "":
                // A column: `name` (SHOW CREATE quotes every name).
                guard def.first == 0x60 || def.first == 0x22 else { return nil }
                if StatementKind.hasWord(Array(def), "AUTO_INCREMENT") {
                    var c = Tokens(Array(def))
                    autoIncrement = c.name()?.lowercased()
                }
                kept.append(def)
            default:
                // An unquoted column name, or a definition this reader does not know.
                return nil
            }
        }
        guard primaryFirstColumn != nil, !deferred.isEmpty else { return nil }
        // The build runs later, under the character_set_client and sql_mode of that moment: its
        // text must read the same under any (ASCII names, no `"` that ANSI_QUOTES would change).
        guard deferred.allSatisfy({ $0.allSatisfy { $0 < 0x80 && $0 != 0x22 } }) else { return nil }
        if let a = autoIncrement, a != primaryFirstColumn { return nil }

        var create = Array(text[..<(parts.open + 1)])
        create += Array("\n  ".utf8)
        for (k, d) in kept.enumerated() {
            if k > 0 { create += Array(",\n  ".utf8) }
            create += d
        }
        create += Array("\n".utf8)
        create += text[parts.close...]
        var build = Array("ALTER TABLE ".utf8)
        if let database, !text[parts.name].contains(UInt8(ascii: ".")) {
            build += Array((MySQLConnection.quoteIdentifier(database) + ".").utf8)
        }
        build += text[parts.name]
        for (k, d) in deferred.enumerated() {
            build += Array((k == 0 ? " ADD " : ", ADD ").utf8)
            build += d
        }
        self.create = create
        self.build = build
        self.count = deferred.count
    }

    /// The tables named after each `REFERENCES` in `text` (as ``Tokens/name()`` reads them),
    /// or nil when one cannot be read.
    static func referencedTables(_ text: [UInt8]) -> [String]? {
        var names: [String] = []
        for end in StatementKind.wordEnds(text, "REFERENCES") {
            var t = Tokens(text)
            t.i = end
            guard let name = t.name() else { return nil }
            names.append(name)
        }
        return names
    }
}
