import DBStream
import Foundation
import XCTest
@testable import fastbackup

final class EnvPHPTests: XCTestCase {
    private func arr(_ e: [(PHPArrayKey, PHPValue)]) -> PHPValue { .array(e.map { (key: $0.0, value: $0.1) }) }

    /// Odd but legal PHP literal forms, each with the value PHP itself gives (checked with `php -r 'var_export(...)'`
    /// semantics as documented in the PHP manual: arrays, strings, integers, floats).
    func testLiteralForms() throws {
        let cases: [(String, PHPValue)] = [
            ("<?php return 1;", .int(1)),
            ("<?php\nreturn -0x1F;", .int(-31)),
            ("<?php return 0b101;", .int(5)),
            ("<?php return 0755;", .int(493)),
            ("<?php return 0o17;", .int(15)),
            ("<?php return 1_000_000;", .int(1_000_000)),
            ("<?php return 9223372036854775808;", .float(9223372036854775808.0)),
            ("<?php return 1.5e3;", .float(1500)),
            ("<?php return .5;", .float(0.5)),
            ("<?php return -2.;", .float(-2)),
            ("<?php return TRUE;", .bool(true)),
            ("<?php return \\false;", .bool(false)),
            ("<?php return NuLl;", .null),
            ("<?php return 'it\\'s \\\\ \\n';", .string("it's \\ \\n")),
            ("<?php return \"tab\\t nl\\n \\x41\\101 \\u{1F600} \\$ \\q \\\"\";", .string("tab\t nl\n AA 😀 $ \\q \"")),
            ("<?php return 'a' . \"b\" . 1;", .string("ab1")),
            ("<?php return 'emoji 😀 ünï';", .string("emoji 😀 ünï")),
            ("<?php return <<<EOT\n  a\\tb\n  c\n  EOT;\n", .string("a\tb\nc")),
            ("<?php return <<<'EOT'\nraw\\t $x\nEOT;\n", .string("raw\\t $x")),
            ("<?php return [];", arr([])),
            ("<?php return [1, 2, ];", arr([(.int(0), .int(1)), (.int(1), .int(2))])),
            ("<?php return ARRAY ( 'a' => 1 , );", arr([(.string("a"), .int(1))])),
            ("<?php return [5 => 'x', 'y', '7' => 'z', '07' => 'w', true => 'b'];",
             arr([(.int(5), .string("x")), (.int(6), .string("y")), (.int(7), .string("z")),
                  (.string("07"), .string("w")), (.int(1), .string("b"))])),
            ("<?php return ['k' => 1, 'j' => 2, 'k' => 3];", arr([(.string("k"), .int(3)), (.string("j"), .int(2))])),
            ("<?php return [[array()], ['n' => [null]]];",
             arr([(.int(0), arr([(.int(0), arr([]))])), (.int(1), arr([(.string("n"), arr([(.int(0), .null)]))]))])),
            ("\u{FEFF}<?php /* c */ # hash\n// line\nreturn /**/ ( 3 ) ;\n?>\ntrailing", .int(3)),
            ("<?php\ndeclare(strict_types=1);\nreturn 'x';", .string("x")),
            ("<?php return 'no semicolon'", .string("no semicolon")),
        ]
        for (src, want) in cases {
            XCTAssertEqual(try EnvPHP.parse(src), want, "source: \(src)")
        }
    }

    /// Errors carry the line and column of the offending character.
    func testErrorsHaveLineAndColumn() {
        let cases: [(String, Int, Int)] = [
            ("<?php\nreturn [\n  'a' => $x,\n];", 3, 10),
            ("<?php\nreturn ['a' 'b'];", 2, 13),
            ("<?php\nreturn 'open", 2, 8),
            ("<?php\nreturn [1, 2", 2, 13),
            ("<?php\nreturn getenv('X';", 2, 8),
            ("return 1;", 1, 1),
            ("<?php\n$a = 1;", 2, 1),
            ("<?php return \"a $b\";", 1, 17),
            ("<?php return 1; junk", 1, 17),
        ]
        for (src, line, col) in cases {
            XCTAssertThrowsError(try EnvPHP.parse(src), src) { e in
                guard let pe = e as? EnvPHP.ParseError else { return XCTFail("wrong error \(e)") }
                XCTAssertEqual(pe.line, line, "\(src): \(pe)")
                XCTAssertEqual(pe.column, col, "\(src): \(pe)")
            }
        }
    }

    /// Magento's documented SSL set-up puts PDO constants in `driver_options`, and some
    /// deployments read the password with getenv(): such expressions are kept as text, so the
    /// rest of the file still reads, and a setting that is one is named with how to give it.
    func testExpressionsAreKeptAndReported() throws {
        let src = """
        <?php
        return [
            'db' => ['connection' => ['default' => [
                'host' => 'db', 'dbname' => 'm2', 'username' => 'm2',
                'password' => getenv('DB_PASS'),
                'driver_options' => [
                    \\PDO::MYSQL_ATTR_SSL_CA => '/etc/ssl/ca.pem',
                    \\PDO::MYSQL_ATTR_SSL_VERIFY_SERVER_CERT => false,
                ],
            ]]],
            'cache' => ['frontend' => ['default' => ['backend' => \\Magento\\Framework\\Cache\\Backend\\Redis::class]]],
        ];
        """
        let config = try DatabaseConfig.fromEnvPHP(src)
        XCTAssertEqual(config.database, "m2")
        XCTAssertEqual(config.unresolved, ["password": "getenv('DB_PASS')"])
        XCTAssertThrowsError(try config.checkResolved(path: "env.php", overrides: ["password": "FASTBACKUP_DB_PASSWORD"])) { e in
            XCTAssertTrue("\(e)".contains("getenv('DB_PASS')") && "\(e)".contains("FASTBACKUP_DB_PASSWORD"), "\(e)")
        }
        var given = config
        given.unresolved["password"] = nil
        XCTAssertNoThrow(try given.checkResolved(path: "env.php", overrides: [:]))
        let parsed = try EnvPHP.parse(src)
        XCTAssertEqual(parsed["db"]?["connection"]?["default"]?["driver_options"]?["PDO::MYSQL_ATTR_SSL_CA"], .string("/etc/ssl/ca.pem"))
    }

    /// The shape Magento 2.4's installer writes (setup:install), shortened.
    static let magentoEnv = """
    <?php
    return [
        'backend' => [
            'frontName' => 'admin_1x2'
        ],
        'crypt' => [
            'key' => 'base64abc'
        ],
        'db' => [
            'table_prefix' => 'mg_',
            'connection' => [
                'default' => [
                    'host' => 'db:3307',
                    'dbname' => 'magento',
                    'username' => 'magento',
                    'password' => 'p@ss\\'w"rd',
                    'model' => 'mysql4',
                    'engine' => 'innodb',
                    'initStatements' => 'SET NAMES utf8;',
                    'active' => '1',
                    'driver_options' => [
                        1014 => false
                    ]
                ]
            ]
        ],
        'MAGE_MODE' => 'production',
    ];

    """

    func testMagentoEnv() throws {
        let c = try DatabaseConfig.fromEnvPHP(Self.magentoEnv)
        XCTAssertEqual(c.host, "db")
        XCTAssertEqual(c.port, 3307)
        XCTAssertNil(c.socket)
        XCTAssertEqual(c.user, "magento")
        XCTAssertEqual(c.password, "p@ss'w\"rd")
        XCTAssertEqual(c.database, "magento")
        XCTAssertEqual(c.tablePrefix, "mg_")
        XCTAssertEqual(c.displayName, "magento@db:3307")
        XCTAssertFalse(c.displayName.contains("p@ss"))
    }

    func testHostForms() throws {
        let cases: [(String, String?, Int?, String?)] = [
            ("localhost", "localhost", nil, nil),
            ("", "localhost", nil, nil),
            ("db", "db", nil, nil),
            ("db.example:3306", "db.example", 3306, nil),
            ("127.0.0.1:13306", "127.0.0.1", 13306, nil),
            ("/var/run/mysqld/mysqld.sock", "localhost", nil, "/var/run/mysqld/mysqld.sock"),
            ("localhost:/tmp/my.sock", "localhost", nil, "/tmp/my.sock"),
            ("[::1]:3307", "::1", 3307, nil),
            ("::1", "::1", nil, nil),
        ]
        for (value, host, port, socket) in cases {
            var c = DatabaseConfig(user: "u", password: "p", database: "d")
            try c.applyMagentoHost(value)
            XCTAssertEqual(c.host, host, value)
            XCTAssertEqual(c.port, port, value)
            XCTAssertEqual(c.socket, socket, value)
        }
        var c = DatabaseConfig(user: "u", password: "p", database: "d")
        XCTAssertThrowsError(try c.applyMagentoHost("db:notaport"))
        XCTAssertThrowsError(try c.applyMagentoHost("db:70000"))
    }

    func testMissingEnvIsAnIOErrorAndBadOnesAreConfigErrors() throws {
        let root = NSTemporaryDirectory() + "fbt-env-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root + "/app/etc", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        XCTAssertThrowsError(try DatabaseConfig.fromMagentoRoot(root)) { e in
            guard let d = e as? DBError, case .io(let errno, _, _) = d.kind else { return XCTFail("\(e)") }
            XCTAssertEqual(errno, ENOENT)
        }
        try Self.magentoEnv.write(toFile: root + "/app/etc/env.php", atomically: false, encoding: .utf8)
        XCTAssertEqual(try DatabaseConfig.fromMagentoRoot(root).database, "magento")
        try "<?php return ['db' => ['connection' => ['default' => ['host' => 'x']]]];"
            .write(toFile: root + "/app/etc/env.php", atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try DatabaseConfig.fromMagentoRoot(root)) { e in
            guard let d = e as? DBError, case .config(_, let reason) = d.kind else { return XCTFail("\(e)") }
            XCTAssertTrue(reason.contains("dbname"), reason)
        }
        try "<?php return ['db' => [\n 'x' => foo(]];".write(toFile: root + "/app/etc/env.php", atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try DatabaseConfig.fromMagentoRoot(root)) { e in
            XCTAssertTrue("\(e)".contains("line 2, column 9"), "\(e)")
        }
    }
}
