import Foundation

/// Where and as whom to connect, and which database to dump or restore.
///
/// Usually read from Magento's `app/etc/env.php` with ``fromMagentoRoot(_:)``;
/// every field is `var` so command-line overrides can be applied on top.
public struct DatabaseConfig: Sendable, Equatable {
    /// Host name or IP for TCP; nil or "localhost" means the local socket.
    public var host: String?
    /// TCP port; nil means the client library's default (3306).
    public var port: Int?
    /// Unix socket path; nil means the client library's default socket when the host is "localhost".
    public var socket: String?
    /// Account name.
    public var user: String
    /// Account password; never printed (see ``displayName``).
    public var password: String
    /// Database (schema) name.
    public var database: String
    /// Magento's `db.table_prefix` ("" when none). The dump includes every table whatever its prefix.
    public var tablePrefix: String
    /// Settings env.php gives as PHP expressions (`getenv('DB_PASS')`), by key, with their text:
    /// left empty here, to be given on the command line; ``checkResolved()`` says which.
    public var unresolved: [String: String] = [:]

    /// Makes a configuration from its parts.
    public init(host: String? = "localhost", port: Int? = nil, socket: String? = nil, user: String,
                password: String, database: String, tablePrefix: String = "") {
        self.host = host
        self.port = port
        self.socket = socket
        self.user = user
        self.password = password
        self.database = database
        self.tablePrefix = tablePrefix
    }

    /// Throws when a setting env.php gives as an expression was not given another way.
    public func checkResolved(path: String, overrides: [String: String]) throws {
        for (key, text) in unresolved.sorted(by: { $0.key < $1.key }) {
            let how = overrides[key].map { "set \($0)" } ?? "give it on the command line"
            throw DBError(.config(path: path, reason: "db.connection.default.\(key) is the PHP expression \(text), which fastbackup does not evaluate; \(how)"))
        }
    }

    /// "user@server" for messages: server is the socket path, "host:port" or the host. Never the password.
    public var displayName: String { "\(user)@\(serverName)" }

    /// The server part of ``displayName``: socket path, "host:port", or host.
    public var serverName: String {
        if let socket, host == nil || host == "localhost" { return socket }
        let h = host ?? "localhost"
        if let port { return h.contains(":") ? "[\(h)]:\(port)" : "\(h):\(port)" }
        return h
    }

    /// Applies Magento's host rules to `db.connection.default.host`:
    /// a value containing "/" is a socket path; "name:port" (or "[v6]:port") splits;
    /// "localhost:/path" is localhost with that socket; anything else is a host name.
    /// - Throws: ``DBError`` `.config` when the port is not a number in 1...65535.
    public mutating func applyMagentoHost(_ value: String, path: String = "env.php") throws {
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
            if rest.hasPrefix(":") { port = try DatabaseConfig.port(String(rest.dropFirst()), path: path) }
            else if !rest.isEmpty { throw DBError(.config(path: path, reason: "malformed host '\(value)'")) }
        } else if let colon = value.lastIndex(of: ":"), value.firstIndex(of: ":") == colon {
            host = String(value[..<colon])
            port = try DatabaseConfig.port(String(value[value.index(after: colon)...]), path: path)
        } else if value.isEmpty {
            host = "localhost"
        }
    }

    private static func port(_ s: String, path: String) throws -> Int {
        guard let p = Int(s), (1...65535).contains(p) else {
            throw DBError(.config(path: path, reason: "invalid port '\(s)' in db host"))
        }
        return p
    }

    /// Reads `<root>/app/etc/env.php`: `db.connection.default` `host`, `dbname`,
    /// `username`, `password` (and `port` when present), and `db.table_prefix`.
    /// - Throws: ``DBError`` `.notInstalled` when env.php is missing, `.config` when it
    ///   cannot be parsed (with line and column) or lacks `dbname`/`username`, `.io` when unreadable.
    public static func fromMagentoRoot(_ root: String) throws -> DatabaseConfig {
        let path = (root as NSString).appendingPathComponent("app/etc/env.php")
        guard FileManager.default.fileExists(atPath: path) else { throw DBError(.notInstalled(path: path)) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DBError(.io(errno: errno == 0 ? EACCES : errno, path: path, operation: "Cannot read"))
        }
        return try fromEnvPHP(String(decoding: data, as: UTF8.self), path: path)
    }

    /// Reads the settings from the text of an env.php file; `path` is only used in messages.
    /// - Throws: ``DBError`` `.config` as for ``fromMagentoRoot(_:)``.
    public static func fromEnvPHP(_ source: String, path: String = "env.php") throws -> DatabaseConfig {
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
            config.port = try port(p, path: path)
        }
        config.unresolved = unresolved
        return config
    }
}
