/// Secondary keys held back from a table's CREATE TABLE (``DeferredKeys``) and built once its
/// rows are in, behind them on the same connection.
extension RestoreSession {
    func holdsKeys(_ table: String) -> Bool { pendingKeys.contains { $0.table == table } }

    /// Queues the held-back keys of `table` behind every statement of it already queued.
    func buildKeys(_ table: String) throws {
        guard let k = pendingKeys.firstIndex(where: { $0.table == table }) else { return }
        let build = pendingKeys.remove(at: k).build
        if let i = try pinnedConnection(table) {
            pool.enqueue(build, table: table, on: i, endsData: true, keyBuild: true)
        } else {
            placement[table] = .pinned(pool.enqueueLeastLoaded(build, table: table, endsData: true, keyBuild: true))
        }
    }

    func buildAllKeys() throws {
        while let p = pendingKeys.first { try buildKeys(p.table) }
    }

    /// Before a statement that names other tables in a foreign key: their keys must exist.
    func buildReferencedKeys(_ s: SQLStatement) throws {
        guard let names = DeferredKeys.referencedTables(s.text), !names.contains(where: { $0.contains(".") }) else {
            deferAllowed = false
            try buildAllKeys()
            try barrier()
            return
        }
        for r in names {
            referenced.insert(r)
            try buildKeys(r)
            pool.waitDrained(r)   // a build queued at the table's ENABLE KEYS may still run
            try checkWorkers()
        }
    }
}
