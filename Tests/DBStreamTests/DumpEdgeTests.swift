import Foundation
import XCTest
@testable import DBStream

/// Dumps that once loaded wrongly, or not at all, while the backup reported success. Each
/// source is made here through the C API (which keeps comments, as PHP's PDO does), dumped by
/// SQLDumper, loaded with the `mariadb` client into a fresh database and compared.
final class DumpEdgeTests: XCTestCase {
    private func roundTrip(_ server: TestServer, _ source: String, _ label: String) throws -> (name: String, drop: () -> Void) {
        let (path, _) = try server.dump(source)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let copy = try server.createDatabase(label)
        do {
            try server.client(copy.name, input: path)
        } catch {
            copy.drop()
            throw error
        }
        return copy
    }

    /// A routine or trigger body ending in a `--` or `#` comment swallowed the `;;` written after
    /// it on the same line: the load stopped there (1064) and lost every object after it.
    func testBodiesEndingInACommentLoad() throws {
        let server = try TestServer.fromEnvironment()
        let db = try server.createDatabase("dcomment")
        defer { db.drop() }
        let c = try server.admin(db.name)
        try c.execute("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
        try c.execute("CREATE FUNCTION f1(x INT) RETURNS INT DETERMINISTIC RETURN x * 2 -- note")
        try c.execute("CREATE TRIGGER t_bi BEFORE INSERT ON t FOR EACH ROW SET NEW.v = f1(NEW.id) # tail")
        let copy = try roundTrip(server, db.name, "dcommentcopy")
        defer { copy.drop() }
        let dst = try server.admin(copy.name)
        XCTAssertEqual(try dst.scalar("SELECT f1(21)"), "42")
        try dst.execute("INSERT INTO t (id) VALUES (5)")
        XCTAssertEqual(try dst.scalar("SELECT v FROM t WHERE id = 5"), "10")
    }

    /// A table name with a line break was written into a `-- Table` comment as is: its second
    /// line ran as SQL on load (here emptying another table).
    func testNameWithALineBreakStaysInTheComment() throws {
        let server = try TestServer.fromEnvironment()
        let db = try server.createDatabase("dname")
        defer { db.drop() }
        let c = try server.admin(db.name)
        try c.execute("CREATE TABLE canary (id INT)")
        try c.execute("INSERT INTO canary VALUES (1)")
        try c.execute("CREATE TABLE `x\nDELETE FROM canary; SELECT 1 AS x` (id INT)")
        let copy = try roundTrip(server, db.name, "dnamecopy")
        defer { copy.drop() }
        XCTAssertEqual(try server.admin(copy.name).scalar("SELECT COUNT(*) FROM canary"), "1")
    }

    /// The server prints a FLOAT with 6 significant digits: 0.1234567 came back as 0.123457 and
    /// 16777216 as 16777200. Read as a double, every float comes back bit for bit.
    func testFloatsRoundTripExactly() throws {
        let server = try TestServer.fromEnvironment()
        let db = try server.createDatabase("dfloat")
        defer { db.drop() }
        let c = try server.admin(db.name)
        try c.execute("CREATE TABLE f (id INT PRIMARY KEY, x FLOAT, y FLOAT(7,4) UNSIGNED)")
        try c.execute("INSERT INTO f VALUES (1, 0.1234567, 1.2345), (2, 3.4028234e38, 0), (3, 16777216, 99.9999), (4, -1.17549435e-38, NULL), (5, NULL, 0.0001)")
        let copy = try roundTrip(server, db.name, "dfloatcopy")
        defer { copy.drop() }
        let probe = "SELECT id, x + 0e0, y + 0e0 FROM f ORDER BY id"
        XCTAssertEqual(try server.admin(copy.name).query(probe), try c.query(probe))
        XCTAssertEqual(try server.checksums(copy.name), try server.checksums(db.name))
    }

    /// Sequences were left out: a table whose default calls NEXTVAL failed to load ("Unknown
    /// SEQUENCE"), and the numbers handed out were lost. They come first now, set to the value the
    /// source would hand out next without its cache (next_not_cached_value, as mariadb-dump keeps
    /// it). Checked with NEXTVAL on the copy's own sequence: SHOW CREATE TABLE names the source
    /// database in a NEXTVAL default, so the table of a copy under another name still calls the
    /// source's sequence (the server's doing; a rollback restores under the same name).
    func testSequencesComeBackBeforeTheirTables() throws {
        let server = try TestServer.fromEnvironment()
        let db = try server.createDatabase("dseq")
        defer { db.drop() }
        let c = try server.admin(db.name)
        try c.execute("CREATE SEQUENCE seq1 START WITH 100 INCREMENT BY 5")
        try c.execute("CREATE TABLE t_seq (id INT PRIMARY KEY DEFAULT NEXTVAL(seq1), v INT)")
        try c.execute("INSERT INTO t_seq (v) VALUES (1), (2)")
        let want = try XCTUnwrap(try c.scalar("SELECT next_not_cached_value FROM seq1"))
        let copy = try roundTrip(server, db.name, "dseqcopy")
        defer { copy.drop() }
        let dst = try server.admin(copy.name)
        XCTAssertEqual(try dst.query("SELECT id, v FROM t_seq ORDER BY id"), try c.query("SELECT id, v FROM t_seq ORDER BY id"))
        XCTAssertEqual(try dst.scalar("SELECT NEXTVAL(seq1)"), want)

        // fastbackup's own restore loads the same file the same way.
        let (path, _) = try server.dump(db.name)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let ours = try server.createDatabase("dseqours")
        defer { ours.drop() }
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        _ = try SQLRestorer(config: server.config(ours.name), options: RestoreOptions(threads: 2)).restore(fromFD: fd, path: path)
        XCTAssertEqual(try server.admin(ours.name).scalar("SELECT NEXTVAL(seq1)"), want)
    }

    /// A global sql_select_limit (here 10) cut every table of the dump to that many rows,
    /// silently. Skips where the test account may not SET GLOBAL.
    func testGlobalSelectLimitDoesNotCutTheDump() throws {
        let server = try TestServer.fromEnvironment()
        let db = try server.createDatabase("dlimit")
        defer { db.drop() }
        let c = try server.admin(db.name)
        do { try c.execute("SET GLOBAL sql_select_limit = 10") } catch { throw XCTSkip("cannot SET GLOBAL here: \(error)") }
        defer { _ = try? c.execute("SET GLOBAL sql_select_limit = DEFAULT") }
        try c.execute("CREATE TABLE t (id INT PRIMARY KEY)")
        try c.execute("INSERT INTO t SELECT seq FROM seq_1_to_100")
        let copy = try roundTrip(server, db.name, "dlimitcopy")
        defer { copy.drop() }
        try c.execute("SET GLOBAL sql_select_limit = DEFAULT")
        XCTAssertEqual(try server.admin(copy.name).scalar("SELECT COUNT(*) FROM t"), "100")
    }

    /// A row whose INSERT cannot fit in one packet of the server (a 700 KB BLOB is 1.4 MB as
    /// hex; max_allowed_packet set to 1 MiB for the test) made a file the server refuses to load,
    /// while the backup reported success. The dump fails now, saying what to raise.
    func testRowLargerThanAPacketFailsTheDump() throws {
        let server = try TestServer.fromEnvironment()
        let db = try server.createDatabase("dpacket")
        defer { db.drop() }
        let c = try server.admin(db.name)
        let old = try c.scalar("SELECT @@GLOBAL.max_allowed_packet") ?? "67108864"
        try c.execute("CREATE TABLE b (id INT PRIMARY KEY, v LONGBLOB)")
        try c.execute("INSERT INTO b VALUES (1, REPEAT(0xC0FFEE01, 175000)), (2, 0x00)")
        do { try c.execute("SET GLOBAL max_allowed_packet = 1048576") } catch { throw XCTSkip("cannot SET GLOBAL here: \(error)") }
        defer { _ = try? c.execute("SET GLOBAL max_allowed_packet = \(old)") }
        XCTAssertThrowsError(try server.dump(db.name)) { error in
            XCTAssertTrue("\(error)".contains("max_allowed_packet"), "\(error)")
        }
    }
}
