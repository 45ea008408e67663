import Glibc
import SystemCalls

/// One statement read by ``SQLStatementSplitter``.
public struct SQLStatement: Sendable {
    /// The statement's bytes without its delimiter and without `--`, `#` and
    /// plain `/* */` comments; conditional comments (`/*!NNNNN ...*/`,
    /// `/*M!NNNNNN ...*/`) and optimizer hints (`/*+ ...*/`) are kept, as the
    /// server needs them.
    public var text: [UInt8]
    /// 1-based line where the statement's first character is.
    public var line: Int

    /// The text decoded as UTF-8 (invalid bytes replaced), for messages and tests.
    public var string: String { String(decoding: text, as: UTF8.self) }
}

/// Splits a stream of SQL (a dump file of any size) into statements the way
/// the `mysql`/`mariadb` client does, holding one statement at a time.
///
/// Understands `'...'` and `"..."` strings with backslash escapes and doubled
/// quotes, `` `...` `` identifiers, `-- ` and `#` line comments, `/* */` block
/// comments, conditional comments `/*!NNNNN ... */` (kept, and a delimiter inside
/// them does not end the statement), and `DELIMITER xx` lines. Each statement
/// reports the line it starts on.
///
/// Limits: client commands other than `DELIMITER` (`\d`, `source`, `\!`) are
/// not recognised; a statement is held whole in memory (as the server needs
/// it in one packet anyway), up to `maxStatementBytes`.
public final class SQLStatementSplitter {
    private let readMore: (UnsafeMutableRawBufferPointer) throws -> Int
    private var buf: [UInt8]
    private var pos = 0
    private var end = 0
    private var eof = false
    private var atStart = true
    /// Whether a backslash escapes the next byte inside strings, as the server's sql_mode decides
    /// (false under NO_BACKSLASH_ESCAPES). The caller updates it when a statement changes the
    /// mode, as the `mariadb` client follows the server's status.
    public var backslashEscapes = true
    /// Under ANSI_QUOTES a double-quoted run is an identifier: no backslash escapes in it.
    public var ansiQuotes = false
    private var line = 1
    private var delimiter: [UInt8] = [UInt8(ascii: ";")] {
        didSet { special = SQLStatementSplitter.specialBytes(delimiter) }
    }
    /// Bytes that may start a quote, a comment, a conditional comment's end or the delimiter.
    private var special = SQLStatementSplitter.specialBytes([UInt8(ascii: ";")])

    private static func specialBytes(_ delimiter: [UInt8]) -> UnsafePointer<Bool> {
        let t = UnsafeMutablePointer<Bool>.allocate(capacity: 256)
        t.initialize(repeating: false, count: 256)
        for c in "'\"`#-/*".utf8 { t[Int(c)] = true }
        t[Int(delimiter[0])] = true
        return UnsafePointer(t)
    }

    deinit { special.deallocate() }
    private let path: String
    private let maxStatementBytes: Int
    /// Bytes consumed so far.
    public private(set) var bytesRead = 0
    /// True when the input opens with fastbackup's dump header (known once ``next()`` ran).
    public private(set) var writtenByFastbackup = false

    /// Reads from a file descriptor (a file or a pipe), `bufferSize` bytes at a time.
    /// `path` names the input in errors.
    public init(fd: Int32, path: String, bufferSize: Int = 1 << 20, maxStatementBytes: Int = 1 << 30) {
        self.path = path
        self.maxStatementBytes = maxStatementBytes
        buf = [UInt8](repeating: 0, count: max(bufferSize, 64))
        readMore = { dst in
            do throws(Errno) { return try FileDescriptor(rawValue: fd).read(into: dst) }
            catch { throw DBError(.io(errno: error.rawValue, path: path, operation: "Cannot read")) }
        }
    }

    /// Splits SQL held in memory (for tests and small scripts).
    public convenience init(bytes: [UInt8], path: String = "<memory>") {
        var offset = 0
        self.init(path: path) { dst in
            let n = min(dst.count, bytes.count - offset)
            if n > 0 { dst.copyBytes(from: bytes[offset..<(offset + n)]) }
            offset += n
            return n
        }
    }

    private init(path: String, read: @escaping (UnsafeMutableRawBufferPointer) throws -> Int) {
        self.path = path
        maxStatementBytes = 1 << 30
        buf = [UInt8](repeating: 0, count: 1 << 16)
        readMore = read
    }

    /// Makes at least `n` bytes available after `pos` unless the input ends; false when fewer remain.
    private func fill(_ n: Int) throws -> Bool {
        if end - pos >= n { return true }
        if eof { return false }
        if pos > 0 {
            buf.withUnsafeMutableBufferPointer { b in
                _ = memmove(b.baseAddress!, b.baseAddress! + pos, end - pos)
            }
            end -= pos
            pos = 0
        }
        while end - pos < n && !eof {
            let got = try buf.withUnsafeMutableBytes { b in
                try readMore(UnsafeMutableRawBufferPointer(rebasing: b[end...]))
            }
            if got == 0 { eof = true } else { end += got; bytesRead += got }
        }
        return end - pos >= n
    }

    @inline(__always) private func peek(_ k: Int = 0) throws -> UInt8? {
        if pos + k < end { return buf[pos + k] }
        return try fill(k + 1) ? buf[pos + k] : nil
    }

    @inline(__always) private func advance() -> UInt8 {
        let c = buf[pos]
        pos += 1
        if c == 10 { line += 1 }
        return c
    }

    /// The first line of every dump SQLDumper writes.
    static let fastbackupHeader = "-- fastbackup SQL dump\n"

    private enum State { case normal, single, double, backtick }

    /// The next statement, or nil at the end of the input.
    /// - Throws: ``DBError`` `.syntax` for an unterminated string or comment at the
    ///   end, or a statement over the size limit; `.io` for read errors.
    public func next() throws -> SQLStatement? {
        if atStart {
            atStart = false
            // A UTF-8 byte order mark (editors on Windows add one) is not SQL; the client skips it.
            if try fill(3), buf[pos] == 0xEF, buf[pos + 1] == 0xBB, buf[pos + 2] == 0xBF { pos += 3 }
            let mark = Array(Self.fastbackupHeader.utf8)
            writtenByFastbackup = try fill(mark.count) && buf[pos..<(pos + mark.count)].elementsEqual(mark)
        }
        var text: [UInt8] = []
        var startLine = 0
        var state = State.normal
        var inConditional = false

        @inline(__always) func keep(_ c: UInt8) {
            if startLine == 0 { startLine = line }
            text.append(c)
        }

        while let c = try peek() {
            switch state {
            case .single, .double, .backtick:
                let quote: UInt8 = state == .single ? 0x27 : (state == .double ? 0x22 : 0x60)
                let escape: UInt8 = state == .backtick || !backslashEscapes || (state == .double && ansiQuotes) ? quote : 0x5C
                // Copy the run up to the next quote or backslash in one go.
                let (k, newlines) = buf.withUnsafeBufferPointer { p -> (Int, Int) in
                    var k = pos, nl = 0
                    while k < end {
                        let b = p[k]
                        if b == quote || b == escape { break }
                        if b == 10 { nl += 1 }
                        k += 1
                    }
                    return (k, nl)
                }
                if k > pos { text.append(contentsOf: buf[pos..<k]); line += newlines; pos = k; continue }
                _ = advance()
                text.append(c)
                if c == 0x5C {
                    if let n = try peek() { text.append(advance()); _ = n }
                } else if try peek() == quote {
                    text.append(advance())   // doubled quote stays inside
                } else {
                    state = .normal
                }
                if text.count > maxStatementBytes { throw tooLong(startLine) }
                continue
            case .normal:
                break
            }

            // Outside strings. Mid-statement, copy a run of bytes that start nothing
            // (no quote, comment, conditional-comment end or delimiter) in one go.
            if !text.isEmpty && !special[Int(c)] {
                let special = self.special
                let (k, newlines) = buf.withUnsafeBufferPointer { p -> (Int, Int) in
                    var k = pos, nl = 0
                    while k < end {
                        let b = p[k]
                        if special[Int(b)] { break }
                        if b == 10 { nl += 1 }
                        k += 1
                    }
                    return (k, nl)
                }
                text.append(contentsOf: buf[pos..<k]); line += newlines; pos = k
                if text.count > maxStatementBytes { throw tooLong(startLine) }
                continue
            }
            if text.isEmpty && !inConditional {
                if c == 32 || c == 9 || c == 10 || c == 13 { _ = advance(); continue }
                if try isDelimiterCommand() { continue }
                // mariadb-dump's first line turns on the client's sandbox mode; it is a client
                // command (`\-`) inside a comment the server ignores, not part of any statement.
                if c == UInt8(ascii: "/"), try matches(Array("/*M!999999\\-".utf8)) { try skipLine(); continue }
            }
            if !inConditional, c == delimiter[0], try matches(delimiter) {
                for _ in delimiter { _ = advance() }
                if let s = finish(text, startLine) { return s }
                text.removeAll(keepingCapacity: true)
                startLine = 0
                continue
            }
            switch c {
            case 0x27: state = .single; keep(advance())
            case 0x22: state = .double; keep(advance())
            case 0x60: state = .backtick; keep(advance())
            case UInt8(ascii: "#"):
                try skipLine()
            case UInt8(ascii: "-") where try peek(1) == UInt8(ascii: "-"):
                let after = try peek(2)
                if after == nil || after == 32 || after == 9 || after == 10 || after == 13 {
                    try skipLine()
                } else {
                    keep(advance())
                }
            case UInt8(ascii: "/") where try peek(1) == UInt8(ascii: "*"):
                let third = try peek(2)
                let fourth = try peek(3)
                let conditional = third == UInt8(ascii: "!") || third == UInt8(ascii: "+")
                    || (third == UInt8(ascii: "M") && fourth == UInt8(ascii: "!"))
                if conditional && !inConditional {
                    inConditional = true
                    keep(advance()); keep(advance())
                } else {
                    let at = line
                    _ = advance(); _ = advance()
                    while true {
                        guard let d = try peek() else {
                            throw DBError(.syntax(path: path, line: at, reason: "unterminated /* comment"))
                        }
                        if d == UInt8(ascii: "*"), try peek(1) == UInt8(ascii: "/") { _ = advance(); _ = advance(); break }
                        _ = advance()
                    }
                    if !text.isEmpty { text.append(32) }
                }
            case UInt8(ascii: "*") where try inConditional && peek(1) == UInt8(ascii: "/"):
                inConditional = false
                keep(advance()); keep(advance())
            default:
                keep(advance())
            }
            if text.count > maxStatementBytes { throw tooLong(startLine) }
        }
        if state != .normal {
            throw DBError(.syntax(path: path, line: startLine, reason: "unterminated quoted string or identifier"))
        }
        return finish(text, startLine)
    }

    private func tooLong(_ at: Int) -> DBError {
        DBError(.syntax(path: path, line: at, reason: "statement longer than \(maxStatementBytes) bytes"))
    }

    /// A statement with trailing whitespace removed; nil when nothing is left.
    private func finish(_ text: [UInt8], _ startLine: Int) -> SQLStatement? {
        var n = text.count
        while n > 0, text[n - 1] == 32 || text[n - 1] == 9 || text[n - 1] == 10 || text[n - 1] == 13 { n -= 1 }
        guard n > 0 else { return nil }
        return SQLStatement(text: n == text.count ? text : Array(text[..<n]), line: startLine)
    }

    private func matches(_ word: [UInt8]) throws -> Bool {
        guard try fill(word.count) else { return false }
        for (k, w) in word.enumerated() where buf[pos + k] != w { return false }
        return true
    }

    private func skipLine() throws {
        while let d = try peek(), d != 10 { _ = advance() }
    }

    /// At the start of a statement: `DELIMITER xx` (any case) sets the delimiter for what follows.
    private func isDelimiterCommand() throws -> Bool {
        let word = Array("delimiter".utf8)
        guard try fill(word.count + 1) else { return false }
        for (k, w) in word.enumerated() where buf[pos + k] | 0x20 != w { return false }
        let sep = buf[pos + word.count]
        guard sep == 32 || sep == 9 else { return false }
        for _ in 0..<word.count { _ = advance() }
        var rest: [UInt8] = []
        while let d = try peek(), d != 10 { rest.append(advance()) }
        while let f = rest.first, f == 32 || f == 9 { rest.removeFirst() }
        // The client takes the first word (or a quoted string): `DELIMITER $$ -- switch` is `$$`.
        var arg: [UInt8] = []
        if let f = rest.first, f == 0x27 || f == 0x22 || f == 0x60, let close = rest.dropFirst().firstIndex(of: f) {
            arg = Array(rest[1..<close])
        } else {
            arg = Array(rest.prefix { $0 != 32 && $0 != 9 && $0 != 13 })
        }
        guard !arg.isEmpty else {
            throw DBError(.syntax(path: path, line: line, reason: "DELIMITER without a delimiter"))
        }
        special.deallocate()
        delimiter = arg
        return true
    }
}
