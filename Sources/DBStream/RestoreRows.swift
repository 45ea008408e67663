/// Where a table's rows and its ALTERs run: spread over the data connections, pinned to one in
/// file order, sent as LOAD DATA, or run on the schema connection after everything queued.
extension RestoreSession {
    func rows(_ s: SQLStatement, table: String) throws {
        stats.dataStatements += 1
        // Rows sent as LOAD DATA stay on one connection per table: InnoDB holds a table's
        // AUTO-INC lock for a whole LOAD DATA (innodb_autoinc_lock_mode 1), so a second
        // connection loading the same table would only wait for the first.
        let columns = loadColumns(table)
        // Rows that convert are literal rows only: no SELECT, IGNORE, REPLACE or ON DUPLICATE
        // KEY, so the checks below need not read the statement again. The 2 MiB cap (dumps
        // write about 1 MiB) keeps the converted rows of queued statements (up to twice the
        // statement each) small.
        let load = s.text.count <= 2 << 20 ? columns?.rows(of: s.text).map {
            RestoreConnections.Load(rows: $0, charset: clientCharset)
        } : nil
        let spread = spreadAllowed && columns == nil && !generatedLater.contains(table)
            && StatementKind.isAnyOrderInsert(s.text)
        // IGNORE, REPLACE and ON DUPLICATE KEY UPDATE act on the unique keys: build them first.
        if holdsKeys(table), !spread, load == nil, !StatementKind.isAnyOrderInsert(s.text) { try buildKeys(table) }
        if triggered.contains(table) {
            try barrier()
            try runMain(s)
            if autocommitOff { mainInTransaction = true }
        } else if !spread, load == nil, pool.count > 1, StatementKind.readsTables(s.text) {
            // Its rows depend on tables loading on other connections: run it after them.
            try buildAllKeys()
            try barrier()
            try runMain(s)
            if autocommitOff { mainInTransaction = true }
        } else if spread {
            var home: Int?
            switch placement[table] {
            case .pinned:
                pool.waitDrained(table)
                try checkWorkers()
            case .spread(let h): home = h
            case nil: break
            }
            // A table keeps to its first connection while that one has room, so tables read at
            // once mostly load on different connections (two connections inserting into the same
            // B-tree edges cost the server ~15% more CPU).
            let used = pool.enqueueLeastLoaded(s, table: table, preferred: home)
            if home == nil { placement[table] = .spread(home: used) }
            stats.spreadStatements += 1
        } else if let i = try pinnedConnection(table) {
            pool.enqueue(s, table: table, on: i, load: load)
        } else if columns != nil {
            // The connection with the fewest tables still loading, so tables read at once load
            // side by side.
            var open = [Int](repeating: 0, count: pool.count)
            for c in loadingOn.values { open[c] += 1 }
            let i = open.indices.min { open[$0] < open[$1] }!
            pool.enqueue(s, table: table, on: i, load: load)
            placement[table] = .pinned(i)
            loadingOn[table] = i
        } else {
            placement[table] = .pinned(pool.enqueueLeastLoaded(s, table: table))
        }
    }

    /// A foreign key needs the referenced table's index, which an ALTER queued on that table's
    /// connection may still be adding (phpMyAdmin adds keys, then constraints).
    func foreignKeyAlter(_ s: SQLStatement, table: String, endsData: Bool) throws {
        try buildKeys(table)
        try buildReferencedKeys(s)
        loadable[table] = nil   // the same ALTER may change columns
        try barrier()
        if placement[table] != nil { placement[table] = nil }
        try runMain(s)
        if endsData { pool.markRestored(table) }
    }

    /// DISABLE KEYS opens a table's rows; ENABLE KEYS closes them, and the held-back keys follow
    /// it; any other ALTER may need them (or drop one), so they come first.
    func alter(_ s: SQLStatement, table: String, endsData: Bool) throws {
        var endsData = endsData
        let holds = holdsKeys(table)
        if endsData { loadingOn[table] = nil }
        if !endsData && !StatementKind.disablesKeys(s.text) { loadable[table] = nil }
        if StatementKind.disablesKeys(s.text) {
            keysDisabled.insert(table)
        } else if holds && !endsData {
            try buildKeys(table)
        }
        let buildAfter = holds && endsData
        if buildAfter { endsData = false }   // the build ends the table's data
        var wasSpread = false
        if case .spread? = placement[table] { wasSpread = true }
        if let i = try pinnedConnection(table) {
            pool.enqueue(s, table: table, on: i, endsData: endsData)
        } else if wasSpread {
            // Every INSERT of the table has run; the ALTER (an index build on MyISAM) runs on a
            // data connection so the reader moves on.
            placement[table] = .pinned(pool.enqueueLeastLoaded(s, table: table, endsData: endsData))
        } else {
            // Nothing of the table is queued anywhere (DISABLE KEYS before its data).
            try runMain(s)
            if endsData { pool.markRestored(table) }
        }
        if buildAfter { try buildKeys(table) }
    }

    /// The connection for a statement of `table` that must keep its place in the file.
    func pinnedConnection(_ table: String) throws -> Int? {
        switch placement[table] {
        case .pinned(let i): return i
        case .spread:
            pool.waitDrained(table)
            try checkWorkers()
            placement[table] = nil
            return nil
        case nil: return nil
        }
    }

    /// The columns of `table` when its plain INSERTs may go as LOAD DATA rows now.
    func loadColumns(_ table: String) -> LoadableTable? {
        guard loadAllowed, splitter.backslashEscapes, !splitter.ansiQuotes, !clientCharset.isEmpty,
              let t = loadable[table] else { return nil }
        return t
    }
}
