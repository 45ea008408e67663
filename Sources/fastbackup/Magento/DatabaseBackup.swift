import DBStream
import Foundation
import ParallelGzip
import SystemCalls
import ThreadKit

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

    /// The compressed dump's chunks: 1 MiB, so that 2 threads' pool (6 chunks in, 6 out) stays
    /// within the dump's 64 MiB with the connections' own buffers. Measured on the benchmark's
    /// dump: zstd frames of 4 MiB peaked at 77 MiB for a 1.095x (not 1.117x) size against a
    /// continuous `zstd -T0 -3`; level 5 in 1 MiB frames was larger and slower.
    static let compressionChunk = 1 << 20
    /// - Parameter codec: nil for plain SQL (Magento's `.sql`); gzip or zstd compresses the
    ///   rows as they stream (a multi-member archive with member sizes, as the file archives),
    ///   with no plain dump on disk first.
    /// `selection`: tables stripped or left out (`--strip`, `--include-tables`, `--exclude-tables`).
    @discardableResult
    static func write(config: DatabaseConfig, to destination: BackupDestination, threads: Int,
                      codec: CompressionCodec? = nil, selection: TableSelection = TableSelection()) throws -> DumpStats {
        let output = try destination.open()
        do {
            var options = DumpOptions(threads: min(threads, maxConnections))
            options.selection = selection
            let stats: DumpStats
            if let codec {
                stats = try dumpCompressed(config: config, options: options, codec: codec, threads: threads, output: output)
            } else {
                stats = try SQLDumper(config: config, options: options).dump(to: output.fd, path: output.displayPath)
            }
            Console.detail("\(stats)")
            try output.commit()
            return stats
        } catch {
            throw output.failureBehind(error)
        }
    }

    /// The dumper writes SQL into a pipe; a thread feeds it to the parallel compressor, which
    /// writes the output.
    private static func dumpCompressed(config: DatabaseConfig, options: DumpOptions, codec: CompressionCodec,
                                       threads: Int, output: BackupOutput) throws -> DumpStats {
        var compression = CompressionOptions(codec: codec, threads: min(threads, 2), chunkSize: compressionChunk)
        compression.directIO = output.isLocalFile
        let compressor = try ParallelCompressor(outputFD: output.fd, path: output.displayPath, options: compression)
        let ends: (read: FileDescriptor, write: FileDescriptor)
        do { ends = try FileDescriptor.pipe(capacity: 1 << 20) } catch { throw StoreError.call("Cannot create a pipe", "pipe", errno: error) }
        let (readEnd, writeEnd) = (ends.read.rawValue, ends.write.rawValue)
        let done = DispatchGroup()
        nonisolated(unsafe) var compressionError: Error?
        do {
            try startThread(named: "compress-sql", stackSize: ThreadStack.standard, group: done) {
                do {
                    try compressor.write(contentsOf: readEnd, inputPath: "the dump")
                    _ = try compressor.finish()
                } catch {
                    compressionError = error
                }
                // A compressor that failed stops reading: the dumper's next write gets EPIPE.
                close(readEnd)
            }
        } catch {
            close(readEnd); close(writeEnd)
            throw error
        }
        let dumped = Result { try SQLDumper(config: config, options: options).dump(to: writeEnd, path: output.displayPath) }
        close(writeEnd)
        done.wait()
        if let compressionError { throw compressionError }
        return try dumped.get()
    }
}
