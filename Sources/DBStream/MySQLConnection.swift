import CMariaDB
import Glibc

/// One connection to a MariaDB/MySQL server: the single owner of its `MYSQL*`.
///
/// Set up with charset utf8mb4, a connect timeout and read/write timeouts (so a
/// server that dies or hangs cannot stall a dump forever). The handle is closed
/// in `deinit`, and on the error path of `init` when `mysql_real_connect` fails.
/// Not thread-safe: use one connection per thread.
public final class MySQLConnection {
    private let mysql: UnsafeMutablePointer<MYSQL>
    /// The settings this connection was made with.
    public let config: DatabaseConfig
    /// What `LOAD DATA LOCAL INFILE` reads on this connection (see ``load(_:rows:describe:)``);
    /// nil when the connection was made without `localStream`.
    private let stream: LocalStream?

    /// Connects (`mysql_init`, `mysql_options`, `mysql_real_connect`).
    /// - Parameters:
    ///   - useDatabase: select `config.database` as the default database.
    ///   - connectTimeout/readTimeout/writeTimeout: seconds (`MYSQL_OPT_*_TIMEOUT`).
    /// - Throws: ``DBError`` `.connect` naming the server and user (never the password).
    ///   - localStream: answer `LOAD DATA LOCAL INFILE` with the bytes given to
    ///     ``load(_:rows:describe:)``, never with a file, whatever name the server asks for.
    ///     Off: the client refuses LOCAL INFILE.
    public init(config: DatabaseConfig, useDatabase: Bool = true, connectTimeout: Int = 10,
                readTimeout: Int = 600, writeTimeout: Int = 600, localStream: Bool = false) throws {
        self.config = config
        stream = localStream ? LocalStream() : nil
        guard let m = mysql_init(nil) else {
            throw DBError(.connect(server: config.serverName, user: config.user, errno: UInt32(CR_OUT_OF_MEMORY),
                                   message: "mysql_init failed: out of memory"))
        }
        var ct = UInt32(clamping: connectTimeout), rt = UInt32(clamping: readTimeout), wt = UInt32(clamping: writeTimeout)
        mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct)
        mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &rt)
        mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &wt)
        _ = "utf8mb4".withCString { mysql_options(m, MYSQL_SET_CHARSET_NAME, $0) }
        var localFiles: UInt32 = localStream ? 1 : 0
        mysql_options(m, MYSQL_OPT_LOCAL_INFILE, &localFiles)
        // A socket path only applies to "localhost"; TCP otherwise.
        let host = config.host ?? "localhost"
        let socket = (host == "localhost") ? config.socket : nil
        let connected = withOptionalCString(host) { h in
            withOptionalCString(socket) { s in
                withOptionalCString(useDatabase ? config.database : nil) { d in
                    mysql_real_connect(m, h, config.user, config.password, d, UInt32(config.port ?? 0), s, 0)
                }
            }
        }
        if connected == nil {
            let e = DBError(.connect(server: config.serverName, user: config.user, errno: mysql_errno(m),
                                     message: String(cString: mysql_error(m))))
            mysql_close(m)
            throw e
        }
        mysql = m
        if let stream {
            mysql_set_local_infile_handler(m, localStreamInit, localStreamRead, localStreamEnd, localStreamError,
                                           Unmanaged.passUnretained(stream).toOpaque())
        }
    }

    /// Runs a `LOAD DATA LOCAL INFILE` statement that reads `rows` as its file.
    /// - Returns: the rows the server inserted and its warning count.
    /// - Throws: ``DBError`` `.query`.
    func load(_ sql: UnsafeRawBufferPointer, rows: UnsafeRawBufferPointer, describe: () -> String) throws
        -> (inserted: UInt64, warnings: UInt32) {
        guard let stream else { throw DBError(.query(sql: describe(), errno: 0, message: "LOCAL INFILE is off on this connection")) }
        stream.data = rows
        stream.offset = 0
        defer { stream.data = UnsafeRawBufferPointer(start: nil, count: 0) }
        let rc = mysql_real_query(mysql, sql.baseAddress?.assumingMemoryBound(to: CChar.self), UInt(sql.count))
        if rc != 0 { throw lastError(describe()) }
        let result = (mysql_affected_rows(mysql), mysql_warning_count(mysql))
        try discardResults(describe())
        return result
    }

    deinit { mysql_close(mysql) }

    /// The server's version string (`mysql_get_server_info`), e.g. "10.11.6-MariaDB".
    public var serverVersion: String { String(cString: mysql_get_server_info(mysql)) }

    /// True when the server is MariaDB (it has `BACKUP STAGE`, `SEQUENCE` tables, ...).
    public var isMariaDB: Bool { serverVersion.contains("MariaDB") }

    /// The error of the last call as a ``DBError`` `.query` for `sql`.
    func lastError(_ sql: String) -> DBError {
        DBError(.query(sql: sql, errno: mysql_errno(mysql), message: String(cString: mysql_error(mysql))))
    }

    /// Runs one statement and discards any result.
    /// - Throws: ``DBError`` `.query` with the server's errno and message.
    public func execute(_ sql: String) throws {
        let rc = sql.utf8.withContiguousStorageIfAvailable { b in
            b.withMemoryRebound(to: CChar.self) { mysql_real_query(mysql, $0.baseAddress, UInt(b.count)) }
        } ?? Array(sql.utf8).withUnsafeBufferPointer { b in
            b.withMemoryRebound(to: CChar.self) { mysql_real_query(mysql, $0.baseAddress, UInt(b.count)) }
        }
        if rc != 0 { throw lastError(sql) }
        try discardResults(sql)
    }

    /// Runs one statement given as raw bytes (binary-safe) and discards any result.
    /// `describe` builds the statement text for an error message only when one is needed.
    /// - Throws: ``DBError`` `.query`.
    public func execute(bytes: UnsafeRawBufferPointer, describe: () -> String) throws {
        let rc = mysql_real_query(mysql, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), UInt(bytes.count))
        if rc != 0 { throw lastError(describe()) }
        try discardResults(describe())
    }

    private func discardResults(_ sql: @autoclosure () -> String) throws {
        while true {
            if let res = mysql_store_result(mysql) { mysql_free_result(res) }
            else if mysql_field_count(mysql) != 0 { throw lastError(sql()) }
            let next = mysql_next_result(mysql)
            if next > 0 { throw lastError(sql()) }
            if next != 0 { return }
        }
    }

    /// Runs a query and returns all rows as strings (NULL as nil). For small
    /// results only (metadata): the whole result is held in memory.
    /// - Throws: ``DBError`` `.query`.
    public func query(_ sql: String) throws -> [[String?]] {
        if mysql_real_query(mysql, sql, UInt(sql.utf8.count)) != 0 { throw lastError(sql) }
        guard let res = mysql_store_result(mysql) else {
            if mysql_field_count(mysql) != 0 { throw lastError(sql) }
            return []
        }
        defer { mysql_free_result(res) }
        let n = Int(mysql_num_fields(res))
        var rows: [[String?]] = []
        while let row = mysql_fetch_row(res) {
            let lengths = mysql_fetch_lengths(res)!
            rows.append((0..<n).map { i in
                row[i].map { p in
                    String(decoding: UnsafeRawBufferPointer(start: p, count: Int(lengths[i])), as: UTF8.self)
                }
            })
        }
        if mysql_errno(mysql) != 0 { throw lastError(sql) }
        return rows
    }

    /// Runs a query and returns the first column of the first row.
    /// - Throws: ``DBError`` `.query`.
    public func scalar(_ sql: String) throws -> String? {
        try query(sql).first?.first ?? nil
    }

    /// Runs a query unbuffered (`mysql_use_result`) and hands each row to `row`
    /// as the C arrays of `mysql_fetch_row` / `mysql_fetch_lengths`; these are
    /// valid only during the call. `fields` is called once first with the result's fields.
    ///
    /// If `row` throws, the socket is shut down so the rest of the result is not
    /// read (the connection is unusable afterwards) and the error is rethrown.
    /// - Throws: ``DBError`` `.query` when the query fails or the connection breaks mid-way.
    func stream(_ sql: String,
                fields: (UnsafeMutablePointer<MYSQL_FIELD>, Int) throws -> Void,
                row: (MYSQL_ROW, UnsafeMutablePointer<UInt>) throws -> Void) throws -> Int {
        if mysql_real_query(mysql, sql, UInt(sql.utf8.count)) != 0 { throw lastError(sql) }
        guard let res = mysql_use_result(mysql) else { throw lastError(sql) }
        var count = 0
        do {
            try fields(mysql_fetch_fields(res), Int(mysql_num_fields(res)))
            while let r = mysql_fetch_row(res) {
                try row(r, mysql_fetch_lengths(res)!)
                count += 1
            }
        } catch {
            abandon()
            mysql_free_result(res)
            throw error
        }
        let err = mysql_errno(mysql)
        if err != 0 {
            let e = lastError(sql)
            mysql_free_result(res)
            throw e
        }
        mysql_free_result(res)
        return count
    }

    /// Shuts the socket down so a pending unbuffered result is not drained.
    func abandon() {
        let fd = mysql_get_socket(mysql)
        if fd >= 0 { _ = Glibc.shutdown(Int32(fd), Int32(SHUT_RDWR)) }
    }

    /// Quotes an identifier with backticks (doubling any backtick inside).
    public static func quoteIdentifier(_ name: String) -> String {
        "`" + name.replacingOccurrences(of: "`", with: "``") + "`"
    }

    /// Quotes a string literal for SQL text sent with backslash escapes enabled.
    public static func quoteString(_ s: String) -> String {
        var out = "'"
        for ch in s.unicodeScalars {
            switch ch {
            case "\0": out += "\\0"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\\": out += "\\\\"
            case "'": out += "\\'"
            case "\"": out += "\\\""
            case "\u{1A}": out += "\\Z"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out + "'"
    }
}

private func withOptionalCString<R>(_ s: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
    guard let s else { return body(nil) }
    return s.withCString { body($0) }
}

/// The bytes one `LOAD DATA LOCAL INFILE` reads: set by ``MySQLConnection/load(_:rows:describe:)``
/// for the length of the call, empty otherwise (a server asking at any other time gets nothing).
final class LocalStream {
    var data = UnsafeRawBufferPointer(start: nil, count: 0)
    var offset = 0
}

private func localStreamInit(_ handle: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ name: UnsafePointer<CChar>?,
                             _ userdata: UnsafeMutableRawPointer?) -> Int32 {
    handle?.pointee = userdata
    return 0
}

private func localStreamRead(_ handle: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ length: UInt32) -> Int32 {
    guard let handle, let buffer else { return -1 }
    let s = Unmanaged<LocalStream>.fromOpaque(handle).takeUnretainedValue()
    let n = min(Int(length), s.data.count - s.offset, Int(Int32.max))
    if n > 0, let base = s.data.baseAddress {
        UnsafeMutableRawPointer(buffer).copyMemory(from: base + s.offset, byteCount: n)
        s.offset += n
    }
    return Int32(max(n, 0))
}

private func localStreamEnd(_ handle: UnsafeMutableRawPointer?) {}

private func localStreamError(_ handle: UnsafeMutableRawPointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ length: UInt32) -> Int32 {
    0
}
