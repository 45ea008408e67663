import DBStream
import Foundation

/// Reads the connection from env.php and applies the command-line overrides.
enum DatabaseSettings {
    static func load(root: MagentoRoot, options opts: ParsedOptions) throws -> DatabaseConfig {
        guard FileManager.default.fileExists(atPath: root.envPHP) else {
            throw StoreError(.notInstalled, "No information is available: the Magento application is not installed.")
        }
        var config = try DatabaseConfig.fromMagentoRoot(root.path)
        if let host = opts.value("db-host") {
            try config.applyMagentoHost(host, path: "--db-host")
            config.unresolved["host"] = nil
            config.unresolved["port"] = nil
        }
        if let name = opts.value("db-name") { config.database = name; config.unresolved["dbname"] = nil }
        if let user = opts.value("db-user") { config.user = user; config.unresolved["username"] = nil }
        // Never on the command line, where `ps` shows it to every user.
        if let password = ProcessInfo.processInfo.environment["FASTBACKUP_DB_PASSWORD"] {
            config.password = password
            config.unresolved["password"] = nil
        }
        try config.checkResolved(path: root.envPHP, overrides: ["host": "--db-host", "port": "--db-host HOST:PORT", "dbname": "--db-name",
                                                                "username": "--db-user", "password": "the FASTBACKUP_DB_PASSWORD environment variable"])
        return config
    }
}

/// `setup:backup --db`: the dump, written under a temporary name and renamed when complete.
enum DatabaseBackup {
    /// Reading connections at most: each holds (queue depth + 1) chunks of ~1 MiB, and the dump
    /// must stay within 64 MiB (16 connections peaked at 87 MB); the server's page reads, not the
    /// connections, bound it beyond a few (mydumper with 2 threads is level with it here).
    static let maxConnections = 8

    static func write(config: DatabaseConfig, to destination: BackupDestination, threads: Int) throws {
        let output = try destination.open()
        do {
            let options = DumpOptions(threads: min(threads, maxConnections))
            let stats = try SQLDumper(config: config, options: options).dump(to: output.fd, path: output.displayPath)
            Console.detail("\(stats)")
            try output.commit()
        } catch {
            throw output.failureBehind(error)
        }
    }
}
