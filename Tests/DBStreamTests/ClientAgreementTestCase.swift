import DBStream
import Foundation
import XCTest

/// Loads SQL written by a test with `mariadb DB < file` and with SQLRestorer (two data
/// connections) into fresh databases, to compare the two.
class ClientAgreementTestCase: XCTestCase {
    func sqlFile(_ sql: String, _ label: String) throws -> String {
        let path = NSTemporaryDirectory() + "fbt-\(label)-\(UInt32.random(in: 0...UInt32.max)).sql"
        try sql.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    func restore(_ server: TestServer, _ path: String, into db: String, options: RestoreOptions = RestoreOptions(threads: 2)) throws -> RestoreStats {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw DBError(.io(errno: errno, path: path, operation: "Cannot open")) }
        defer { close(fd) }
        return try SQLRestorer(config: server.config(db), options: options).restore(fromFD: fd, path: path)
    }

    /// Loads `sql` both ways and compares what `queries` return.
    @discardableResult
    func assertAgrees(_ sql: String, _ label: String, _ queries: [String], file: StaticString = #filePath, line: UInt = #line) throws -> RestoreStats {
        let server = try TestServer.fromEnvironment()
        let path = try sqlFile(sql, label)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let viaClient = try server.createDatabase(label)
        defer { viaClient.drop() }
        try server.client(viaClient.name, input: path)
        let ours = try server.createDatabase(label)
        defer { ours.drop() }
        let stats = try restore(server, path, into: ours.name)
        for q in queries {
            XCTAssertEqual(try server.admin(ours.name).query(q), try server.admin(viaClient.name).query(q), "\(label): \(q)", file: file, line: line)
        }
        return stats
    }

    /// Loads `sql` with SQLRestorer, expecting it to fail; returns the reported line and tables.
    func failingRestore(_ sql: String, _ label: String, options: RestoreOptions = RestoreOptions(threads: 2),
                        file: StaticString = #filePath, line: UInt = #line) throws -> (db: String, line: Int, errno: UInt32, tables: [String], drop: () -> Void) {
        let server = try TestServer.fromEnvironment()
        let path = try sqlFile(sql, label)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let db = try server.createDatabase(label)
        do {
            _ = try restore(server, path, into: db.name, options: options)
        } catch let e as DBError {
            if case .restore(_, let at, _, let errno, _, let tables) = e.kind { return (db.name, at, errno, tables, db.drop) }
            db.drop()
            throw e
        }
        db.drop()
        XCTFail("\(label): the restore did not fail", file: file, line: line)
        throw XCTSkip("no failure to inspect")
    }
}
