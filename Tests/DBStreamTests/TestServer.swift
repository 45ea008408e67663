import Foundation
import XCTest
@testable import DBStream

/// The private test server started by `scripts/test.sh` (scripts/lib/mariadb.sh),
/// found through FASTBACKUP_TEST_MYSQL_*; tests skip when it is not running.
struct TestServer {
    let socket: String
    let port: Int?
    let user: String
    let password: String

    static func fromEnvironment() throws -> TestServer {
        let env = ProcessInfo.processInfo.environment
        guard let socket = env["FASTBACKUP_TEST_MYSQL_SOCKET"], let user = env["FASTBACKUP_TEST_MYSQL_USER"] else {
            throw XCTSkip("no test MariaDB: FASTBACKUP_TEST_MYSQL_SOCKET/USER are unset (run scripts/test.sh, which starts one)")
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/mariadb") else {
            throw XCTSkip("mariadb client not installed: apt-get install mariadb-client")
        }
        return TestServer(socket: socket, port: env["FASTBACKUP_TEST_MYSQL_PORT"].flatMap(Int.init),
                          user: user, password: env["FASTBACKUP_TEST_MYSQL_PASSWORD"] ?? "")
    }

    func config(_ database: String, prefix: String = "") -> DatabaseConfig {
        DatabaseConfig(host: "localhost", port: nil, socket: socket, user: user, password: password,
                       database: database, tablePrefix: prefix)
    }

    /// A fresh database named fbt_<label>_<random>; dropped by the returned closure.
    func createDatabase(_ label: String) throws -> (name: String, drop: () -> Void) {
        let name = "fbt_\(label)_\(UInt32.random(in: 0...UInt32.max))"
        try admin().execute("CREATE DATABASE \(name) CHARACTER SET utf8mb4")
        return (name, { try? self.admin().execute("DROP DATABASE IF EXISTS \(name)") })
    }

    func admin(_ db: String? = nil) throws -> MySQLConnection {
        var c = config(db ?? "")
        c.database = db ?? ""
        return try MySQLConnection(config: c, useDatabase: db != nil)
    }

    /// Runs the `mariadb` client on `database` with the file as input, as a person would:
    /// `mariadb --no-defaults -S SOCK -u U DB < file` (no --binary-mode).
    @discardableResult
    func client(_ database: String, input: String, extra: [String] = []) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/mariadb")
        p.arguments = ["--no-defaults", "--socket=\(socket)", "--user=\(user)"] + extra + [database]
        var env = ProcessInfo.processInfo.environment
        env["MYSQL_PWD"] = password
        p.environment = env
        p.standardInput = FileHandle(forReadingAtPath: input)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        if p.terminationStatus != 0 {
            throw NSError(domain: "mariadb", code: Int(p.terminationStatus),
                          userInfo: [NSLocalizedDescriptionKey: "mariadb < \(input) failed: \(String(decoding: e, as: UTF8.self))"])
        }
        return String(decoding: o, as: UTF8.self)
    }

    /// Dumps `database` with SQLDumper into a temporary file and returns its path and stats.
    func dump(_ database: String, options: DumpOptions = .init()) throws -> (path: String, stats: DumpStats) {
        let path = NSTemporaryDirectory() + "fbt-\(database)-\(UInt32.random(in: 0...UInt32.max)).sql"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { throw DBError(.io(errno: errno, path: path, operation: "Cannot create")) }
        defer { close(fd) }
        do {
            let stats = try SQLDumper(config: config(database), options: options).dump(to: fd, path: path)
            return (path, stats)
        } catch {
            unlink(path)   // a failed dump's file is the test's to remove, not the caller's
            throw error
        }
    }

    /// CHECKSUM TABLE of every base table, by name.
    func checksums(_ database: String) throws -> [String: String] {
        let c = try admin(database)
        var out: [String: String] = [:]
        for row in try c.query("SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'") {
            let t = row[0]!
            out[t] = try c.query("CHECKSUM TABLE \(MySQLConnection.quoteIdentifier(t))").first?[1] ?? "nil"
        }
        return out
    }

    /// Counts of views, triggers, routines and events.
    func objectCounts(_ database: String) throws -> [String: Int] {
        let c = try admin()
        let db = MySQLConnection.quoteString(database)
        func n(_ sql: String) throws -> Int { Int(try c.scalar(sql) ?? "0") ?? 0 }
        return [
            "tables": try n("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA=\(db) AND TABLE_TYPE='BASE TABLE'"),
            "views": try n("SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA=\(db)"),
            "triggers": try n("SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA=\(db)"),
            "routines": try n("SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA=\(db)"),
            "events": try n("SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA=\(db)"),
        ]
    }

    /// Dumps `source`, loads the dump into a fresh database with the `mariadb`
    /// client, and checks that every table's checksum and every object count match.
    @discardableResult
    func assertRoundTrip(_ source: String, options: DumpOptions = .init(),
                         file: StaticString = #filePath, line: UInt = #line) throws -> (stats: DumpStats, sql: String) {
        let (path, stats) = try dump(source, options: options)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let target = try createDatabase("restore")
        defer { target.drop() }
        try client(target.name, input: path)
        let want = try checksums(source)
        XCTAssertFalse(want.isEmpty, file: file, line: line)
        XCTAssertEqual(try checksums(target.name), want, file: file, line: line)
        XCTAssertEqual(try objectCounts(target.name), try objectCounts(source), file: file, line: line)
        let sql = try String(contentsOfFile: path, encoding: .utf8)
        // Statements of tables read at once may interleave, but each INSERT is one whole
        // line and comes after its table's CREATE TABLE.
        var created = Set<String>()
        for text in sql.split(separator: "\n", omittingEmptySubsequences: true) {
            if text.hasPrefix("CREATE TABLE `") {
                created.insert(Self.leadingIdentifier(text.dropFirst(13)))
            } else if text.hasPrefix("INSERT INTO `") {
                let name = Self.leadingIdentifier(text.dropFirst(12))
                XCTAssertTrue(created.contains(name), "INSERT into \(name) before its CREATE TABLE", file: file, line: line)
                XCTAssertTrue(text.hasSuffix(");"), String(text.prefix(60)), file: file, line: line)
            }
        }
        XCTAssertTrue(sql.hasSuffix("-- Dump completed\n"), file: file, line: line)
        return (stats, sql)
    }

    /// The `quoted` identifier at the start of `s`, quotes kept.
    static func leadingIdentifier(_ s: Substring) -> String {
        var out = "`"
        var i = s.index(after: s.startIndex)
        while i < s.endIndex {
            let c = s[i]
            i = s.index(after: i)
            out.append(c)
            if c == "`" {
                if i < s.endIndex, s[i] == "`" { out.append("`"); i = s.index(after: i) } else { break }
            }
        }
        return out
    }

    /// The package root, from this file's path.
    static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }
}
