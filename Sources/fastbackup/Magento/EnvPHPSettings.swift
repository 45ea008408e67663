import DBStream
import Foundation

/// The database settings of a Magento store: `db.connection.default` and `db.table_prefix` of
/// `app/etc/env.php`, with Magento's rules for the host value.
extension DatabaseConfig {
    /// Reads `<root>/app/etc/env.php`: `db.connection.default` `host`, `dbname`,
    /// `username`, `password` (and `port` when present), and `db.table_prefix`.
    /// - Throws: ``DBError`` `.config` when it cannot be parsed (with line and column) or lacks
    ///   `dbname`/`username`, `.io` when missing or unreadable (the command line says "not
    ///   installed" for a missing one first, in Magento's words).
    static func fromMagentoRoot(_ root: String) throws -> DatabaseConfig {
        let path = (root as NSString).appendingPathComponent("app/etc/env.php")
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DBError(.io(errno: errno == 0 ? EACCES : errno, path: path, operation: "Cannot read"))
        }
        return try fromEnvPHP(String(decoding: data, as: UTF8.self), path: path)
    }

    /// Reads the settings from the text of an env.php file; `path` is only used in messages.
    /// - Throws: ``DBError`` `.config` as for ``fromMagentoRoot(_:)``.
    static func fromEnvPHP(_ source: String, path: String = "env.php") throws -> DatabaseConfig {
        let value: PHPValue
        do { value = try EnvPHP.parse(source) } catch let e as EnvPHP.ParseError {
            throw DBError(.config(path: path, reason: e.description))
        }
        guard let db = value["db"], let conn = db["connection"]?["default"], case .array = conn else {
            throw DBError(.config(path: path, reason: "no db.connection.default array"))
        }
        func str(_ key: String, required: Bool) throws -> String? {
            guard let v = conn[key] else {
                if required { throw DBError(.config(path: path, reason: "db.connection.default.\(key) is missing")) }
                return nil
            }
            if case .expression(let text) = v {
                unresolved[key] = text
                return ""
            }
            guard let s = v.stringValue else {
                throw DBError(.config(path: path, reason: "db.connection.default.\(key) is not a string"))
            }
            return s
        }
        var unresolved: [String: String] = [:]
        guard let name = try str("dbname", required: true), !name.isEmpty || unresolved["dbname"] != nil else {
            throw DBError(.config(path: path, reason: "db.connection.default.dbname is empty"))
        }
        var config = DatabaseConfig(user: try str("username", required: true)!,
                                    password: try str("password", required: false) ?? "",
                                    database: name,
                                    tablePrefix: db["table_prefix"]?.stringValue ?? "")
        try config.applyMagentoHost(try str("host", required: false).flatMap { $0.isEmpty ? nil : $0 } ?? "localhost", path: path)
        if let p = try str("port", required: false), !p.isEmpty, config.socket == nil {
            config.port = try databasePort(p, path: path)
        }
        config.unresolved = unresolved
        return config
    }

    /// Applies Magento's host rules to `db.connection.default.host`:
    /// a value containing "/" is a socket path; "name:port" (or "[v6]:port") splits;
    /// "localhost:/path" is localhost with that socket; anything else is a host name.
    /// - Throws: ``DBError`` `.config` when the port is not a number in 1...65535.
    mutating func applyMagentoHost(_ value: String, path: String = "env.php") throws {
        host = value
        port = nil
        socket = nil
        if value.hasPrefix("localhost:/") || value.hasPrefix("127.0.0.1:/") {
            host = "localhost"
            socket = String(value[value.index(after: value.firstIndex(of: ":")!)...])
        } else if value.contains("/") {
            host = "localhost"
            socket = value
        } else if value.hasPrefix("["), let close = value.firstIndex(of: "]") {
            host = String(value[value.index(after: value.startIndex)..<close])
            let rest = value[value.index(after: close)...]
            if rest.hasPrefix(":") { port = try databasePort(String(rest.dropFirst()), path: path) }
            else if !rest.isEmpty { throw DBError(.config(path: path, reason: "malformed host '\(value)'")) }
        } else if let colon = value.lastIndex(of: ":"), value.firstIndex(of: ":") == colon {
            host = String(value[..<colon])
            port = try databasePort(String(value[value.index(after: colon)...]), path: path)
        } else if value.isEmpty {
            host = "localhost"
        }
    }
}

private func databasePort(_ s: String, path: String) throws -> Int {
    guard let p = Int(s), (1...65535).contains(p) else {
        throw DBError(.config(path: path, reason: "invalid port '\(s)' in db host"))
    }
    return p
}

