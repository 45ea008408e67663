import Foundation
import XCTest
@testable import DBStream

final class PrivilegeTests: XCTestCase {
    /// A Magento-style account (rights on its own database only, no RELOAD) cannot
    /// block commits, so the dump uses one connection; it still round-trips. The
    /// settings come from an env.php whose host is the server's socket path.
    func testAccountWithoutReloadUsesOneConnection() throws {
        let server = try TestServer.fromEnvironment()
        let db = try server.createDatabase("lowpriv")
        defer { db.drop() }
        let user = "fbt_low_\(UInt32.random(in: 0...UInt32.max))"
        let admin = try server.admin()
        try admin.execute("CREATE USER '\(user)'@'localhost' IDENTIFIED BY 'low-pw'")
        defer { try? admin.execute("DROP USER '\(user)'@'localhost'") }
        try admin.execute("GRANT ALL PRIVILEGES ON `\(db.name)`.* TO '\(user)'@'localhost'")
        let c = try server.admin(db.name)
        for t in ["a", "b", "c"] {
            try c.execute("CREATE TABLE \(t) (id INT PRIMARY KEY, v VARCHAR(10))")
            try c.execute("INSERT INTO \(t) SELECT seq, 'x' FROM seq_1_to_100")
        }

        let root = NSTemporaryDirectory() + "fbt-root-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let config = DatabaseConfig(host: "localhost", socket: server.socket, user: user, password: "low-pw", database: db.name)
        XCTAssertEqual(config.socket, server.socket)
        let path = root + "/dump.sql"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let stats = try SQLDumper(config: config, options: DumpOptions(threads: 2)).dump(to: fd, path: path)
        close(fd)
        XCTAssertEqual(stats.snapshot, .single)
        XCTAssertEqual(stats.connections, 1)
        XCTAssertEqual(stats.rows, 300)
        let copy = try server.createDatabase("lowpriv_copy")
        defer { copy.drop() }
        try server.client(copy.name, input: path)
        XCTAssertEqual(try server.checksums(copy.name), try server.checksums(db.name))
    }
}
