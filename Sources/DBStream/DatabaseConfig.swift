import Foundation

/// Where and as whom to connect, and which database to dump or restore.
///
/// The command line reads it from the store's own settings (Magento's `app/etc/env.php`);
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
    /// The application's table prefix ("" when none). The dump includes every table whatever its prefix.
    public var tablePrefix: String
    /// Settings the configuration file gives as expressions (`getenv('DB_PASS')`), by key, with
    /// their text: left empty here, to be given another way; ``checkResolved()`` says which.
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

    /// Throws when a setting given as an expression was not given another way.
    public func checkResolved(path: String, overrides: [String: String]) throws {
        for (key, text) in unresolved.sorted(by: { $0.key < $1.key }) {
            let how = overrides[key].map { "set \($0)" } ?? "give it on the command line"
            throw DBError(.config(path: path, reason: "db.connection.default.\(key) is the PHP expression \(text), which is not evaluated; \(how)"))
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

}
