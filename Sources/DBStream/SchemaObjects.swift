/// The SQL for a database's views, triggers, routines and events, read once
/// at the start of a dump (they are small) and written after the tables.
struct SchemaObjects {
    var views = 0, triggers = 0, routines = 0, events = 0
    /// Stand-ins and views; then routines before views is not needed (see below).
    var routinesSQL = ""
    var viewsSQL = ""
    var triggersSQL = ""
    var eventsSQL = ""

    static let dumpSQLMode = "NO_AUTO_VALUE_ON_ZERO"

    /// Reads everything but table data through `conn` (whose default database is `database`).
    /// - Throws: ``DBError`` `.query`, e.g. when a view references a missing table
    ///   or the account may not see a routine's body.
    /// `excludedTables`: tables left out of the dump, whose triggers are left out too.
    static func read(conn: MySQLConnection, database: String, views: [String], options: DumpOptions,
                     excludedTables: Set<String> = []) throws -> SchemaObjects {
        var o = SchemaObjects()
        let q = MySQLConnection.quoteIdentifier
        let db = MySQLConnection.quoteString(database)

        // Views: stand-ins with the right column names first, so views on views
        // load in any order (the way mariadb-dump does it), then the real ones.
        if !views.isEmpty {
            var standIns = "\n--\n-- Stand-in views (replaced below)\n--\n\n"
            var real = "\n--\n-- Views\n--\n\n"
            for v in views {
                let cols = try conn.query("SHOW COLUMNS FROM \(q(v))").compactMap { $0.first ?? nil }
                let select = cols.map { "1 AS \(q($0))" }.joined(separator: ", ")
                standIns += "DROP VIEW IF EXISTS \(q(v));\nCREATE VIEW \(q(v)) AS SELECT \(select.isEmpty ? "1" : select);\n"
                guard let create = try conn.query("SHOW CREATE VIEW \(q(v))").first, create.count > 1, let sql = create[1] else {
                    throw DBError(.query(sql: "SHOW CREATE VIEW \(q(v))", errno: 0, message: "no definition returned"))
                }
                real += "DROP VIEW IF EXISTS \(q(v));\n\(removeDefiner(sql));\n"
            }
            o.viewsSQL = standIns + real
            o.views = views.count
        }

        if options.triggers {
            let names = try conn.query("""
                SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = \(db)
                ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER
                """).filter { !excludedTables.contains(($0.count > 1 ? $0[1] : nil) ?? "") }.compactMap { $0.first ?? nil }
            if !names.isEmpty {
                var s = "\n--\n-- Triggers\n--\n\n"
                for t in names {
                    let sql = "SHOW CREATE TRIGGER \(q(t))"
                    guard let r = try conn.query(sql).first, r.count > 2, let body = r[2] else {
                        throw DBError(.query(sql: sql, errno: 0, message: "no definition returned (missing privilege?)"))
                    }
                    s += compound(create: removeDefiner(body), sqlMode: r[1] ?? "")
                }
                s += "/*!50003 SET SESSION SQL_MODE='\(dumpSQLMode)' */;\n"
                o.triggersSQL = s
                o.triggers = names.count
            }
        }

        if options.routines {
            let rows = try conn.query("""
                SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES
                WHERE ROUTINE_SCHEMA = \(db) AND ROUTINE_TYPE IN ('FUNCTION', 'PROCEDURE')
                ORDER BY ROUTINE_TYPE DESC, ROUTINE_NAME
                """)
            if !rows.isEmpty {
                var s = "\n--\n-- Routines\n--\n\n"
                for r in rows {
                    guard let type = r[0], let name = r[1] else { continue }
                    let sql = "SHOW CREATE \(type) \(q(name))"
                    guard let c = try conn.query(sql).first, c.count > 2, let body = c[2] else {
                        throw DBError(.query(sql: sql, errno: 0,
                                             message: "no definition returned (the account cannot read the routine's body)"))
                    }
                    s += "DROP \(type) IF EXISTS \(q(name));\n"
                    s += compound(create: removeDefiner(body), sqlMode: c[1] ?? "")
                }
                s += "/*!50003 SET SESSION SQL_MODE='\(dumpSQLMode)' */;\n"
                o.routinesSQL = s
                o.routines = rows.count
            }
        }

        if options.events {
            let names = try conn.query("SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = \(db) ORDER BY EVENT_NAME")
                .compactMap { $0.first ?? nil }
            if !names.isEmpty {
                var s = "\n--\n-- Events\n--\n\n"
                for e in names {
                    let sql = "SHOW CREATE EVENT \(q(e))"
                    guard let c = try conn.query(sql).first, c.count > 3, let body = c[3] else {
                        throw DBError(.query(sql: sql, errno: 0, message: "no definition returned"))
                    }
                    s += "DROP EVENT IF EXISTS \(q(e));\n"
                    s += "/*!50106 SET TIME_ZONE=\(MySQLConnection.quoteString(c[2] ?? "SYSTEM")) */;\n"
                    s += compound(create: removeDefiner(body), sqlMode: c[1] ?? "")
                }
                s += "/*!50003 SET SESSION SQL_MODE='\(dumpSQLMode)' */;\n/*!50106 SET TIME_ZONE='+00:00' */;\n"
                o.eventsSQL = s
                o.events = names.count
            }
        }
        return o
    }

    /// A CREATE whose body may hold `;`, in a `DELIMITER ;;` block with the
    /// sql_mode it was created under (it decides how the body behaves).
    static func compound(create: String, sqlMode: String) -> String {
        // `;;` on a line of its own: a body may end in a `--` or `#` comment, which would swallow it.
        "DELIMITER ;;\n/*!50003 SET SESSION SQL_MODE=\(MySQLConnection.quoteString(sqlMode)) */;;\n\(create)\n;;\nDELIMITER ;\n"
    }

    /// Removes the ` DEFINER=user@host` clause from a SHOW CREATE result so the
    /// object loads as the restoring account (which may lack SET USER / SUPER).
    static func removeDefiner(_ sql: String) -> String {
        let b = Array(sql.utf8)
        let key = Array(" DEFINER=".utf8)
        // The clause is in the head, before the body; only look there.
        let limit = min(b.count, 2048)
        var i = 0
        while i + key.count <= limit {
            if b[i..<(i + key.count)].elementsEqual(key) { break }
            i += 1
        }
        guard i + key.count <= limit else { return sql }
        var j = i + key.count
        func skipName() -> Bool {
            guard j < b.count else { return false }
            let q = b[j]
            if q == UInt8(ascii: "`") || q == UInt8(ascii: "'") || q == UInt8(ascii: "\"") {
                j += 1
                while j < b.count {
                    if b[j] == q {
                        if j + 1 < b.count && b[j + 1] == q { j += 2; continue }
                        j += 1
                        return true
                    }
                    if b[j] == UInt8(ascii: "\\") && q != UInt8(ascii: "`") { j += 1 }
                    j += 1
                }
                return false
            }
            let start = j
            while j < b.count, b[j] != 32, b[j] != UInt8(ascii: "@") { j += 1 }
            return j > start
        }
        guard skipName() else { return sql }
        if j < b.count && b[j] == UInt8(ascii: "@") {
            j += 1
            guard skipName() else { return sql }
        }
        return String(decoding: b[..<i] + b[j...], as: UTF8.self)
    }
}
