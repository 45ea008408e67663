/// Reads the literal PHP that Magento keeps its settings in (`app/etc/env.php`)
/// without running PHP.
///
/// Accepted: an optional `<?php` tag, comments (`//`, `#`, `/* */`), optional
/// `declare(...);` and `namespace ...;` lines, then `return <expression>;`
/// (the `;` may be left out before the end or `?>`). Expressions: arrays
/// `[...]` and `array(...)` (any case) with `key => value` or positional entries
/// and trailing commas; single-quoted strings (`\'`, `\\`), double-quoted
/// strings (`\n \t \r \v \e \f \0..\777 \xHH \u{...} \\ \$ \"`), heredoc and
/// nowdoc; `.` concatenation of strings; ints (decimal, `0x`, `0b`, `0`/`0o`
/// octal, `_` separators) and floats with an optional sign; `true`, `false`,
/// `null` in any case, also written `\true`.
///
/// Not accepted (a ``EnvPHP/ParseError`` names the line and column): variables,
/// constants other than the three above, function calls, and `"$var"` interpolation.
public enum EnvPHP {
    /// Where and why the source is not a literal PHP `return` of a value.
    public struct ParseError: Error, CustomStringConvertible, Equatable, Sendable {
        /// 1-based line of the offending character.
        public var line: Int
        /// 1-based column (in bytes) of the offending character.
        public var column: Int
        /// What was expected or found.
        public var message: String
        /// "line L, column C: message".
        public var description: String { "line \(line), column \(column): \(message)" }
    }

    /// Parses the source of a PHP file that returns a literal value.
    /// - Throws: ``ParseError`` with the line and column of the first problem.
    public static func parse(_ source: String) throws -> PHPValue {
        var p = Parser(Array(source.utf8))
        return try p.parseFile()
    }
}

private struct Parser {
    let s: [UInt8]
    var i = 0

    init(_ bytes: [UInt8]) { s = bytes }

    // MARK: errors and positions

    func error(_ message: String, at pos: Int? = nil) -> EnvPHP.ParseError {
        let p = min(pos ?? i, s.count)
        var line = 1, col = 1
        var k = 0
        while k < p { if s[k] == 10 { line += 1; col = 1 } else { col += 1 }; k += 1 }
        return EnvPHP.ParseError(line: line, column: col, message: message)
    }

    var atEnd: Bool { i >= s.count }
    func peek(_ off: Int = 0) -> UInt8? { i + off < s.count ? s[i + off] : nil }

    static func isIdentStart(_ c: UInt8) -> Bool {
        (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 || c >= 128
    }
    static func isIdent(_ c: UInt8) -> Bool { isIdentStart(c) || (c >= 48 && c <= 57) }
    static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    static func lower(_ c: UInt8) -> UInt8 { c >= 65 && c <= 90 ? c + 32 : c }

    /// True when the bytes at the cursor are `word` in any case, not followed by an identifier byte.
    func matchesKeyword(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard i + w.count <= s.count else { return false }
        for (k, c) in w.enumerated() where Parser.lower(s[i + k]) != c { return false }
        if i + w.count < s.count, Parser.isIdent(s[i + w.count]) { return false }
        return true
    }

    // MARK: layout

    /// Skips whitespace and comments. A `?>` ends a `//`/`#` comment as in PHP.
    mutating func skipTrivia() throws {
        while let c = peek() {
            if c == 32 || c == 9 || c == 10 || c == 13 || c == 11 || c == 12 {
                i += 1
            } else if c == UInt8(ascii: "#") || (c == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "/")) {
                while let d = peek(), d != 10 {
                    if d == UInt8(ascii: "?") && peek(1) == UInt8(ascii: ">") { break }
                    i += 1
                }
            } else if c == UInt8(ascii: "/") && peek(1) == UInt8(ascii: "*") {
                let start = i
                i += 2
                while true {
                    guard let d = peek() else { throw error("unterminated /* comment", at: start) }
                    if d == UInt8(ascii: "*") && peek(1) == UInt8(ascii: "/") { i += 2; break }
                    i += 1
                }
            } else {
                return
            }
        }
    }

    mutating func expect(_ c: Character) throws {
        try skipTrivia()
        guard peek() == c.asciiValue else {
            throw error("expected '\(c)'" + (atEnd ? " before the end" : ""))
        }
        i += 1
    }

    // MARK: file

    mutating func parseFile() throws -> PHPValue {
        if s.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        // Whitespace before `<?php` would be output by PHP but does not change the value.
        while let c = peek(), c == 32 || c == 9 || c == 10 || c == 13 { i += 1 }
        if peek() == UInt8(ascii: "<") && peek(1) == UInt8(ascii: "?") {
            i += 2
            if matchesKeyword("php") { i += 3 }
        } else {
            throw error("expected '<?php' at the start of the file")
        }
        while true {
            try skipTrivia()
            if matchesKeyword("declare") {
                i += 7
                try expect("(")
                while let c = peek(), c != UInt8(ascii: ")") { i += 1 }
                try expect(")")
                try expect(";")
            } else if matchesKeyword("namespace") {
                while let c = peek(), c != UInt8(ascii: ";") { i += 1 }
                try expect(";")
            } else {
                break
            }
        }
        guard matchesKeyword("return") else { throw error("expected 'return'") }
        i += 6
        let value = try parseExpression()
        try skipTrivia()
        if peek() == UInt8(ascii: ";") { i += 1 }
        try skipTrivia()
        if peek() == UInt8(ascii: "?") && peek(1) == UInt8(ascii: ">") { return value }
        guard atEnd else { throw error("unexpected text after the returned value") }
        return value
    }

    // MARK: expressions

    /// A value, possibly several strings joined by `.`.
    mutating func parseExpression() throws -> PHPValue {
        var value = try parsePrimary()
        while true {
            let save = i
            try skipTrivia()
            // `.` followed by a digit is a float such as .5, which cannot follow a value.
            guard peek() == UInt8(ascii: "."), !(peek(1).map(Parser.isDigit) ?? false) else { i = save; break }
            let dotAt = i
            i += 1
            let rhs = try parsePrimary()
            guard let l = value.concatenable, let r = rhs.concatenable else {
                throw error("'.' joins only strings and numbers", at: dotAt)
            }
            value = .string(l + r)
        }
        return value
    }

    mutating func parsePrimary() throws -> PHPValue {
        try skipTrivia()
        guard let c = peek() else { throw error("expected a value before the end") }
        switch c {
        case UInt8(ascii: "["):
            i += 1
            return try parseArrayBody(close: UInt8(ascii: "]"))
        case UInt8(ascii: "'"):
            return .string(try parseSingleQuoted())
        case UInt8(ascii: "\""):
            return .string(try parseDoubleQuoted())
        case UInt8(ascii: "<") where peek(1) == UInt8(ascii: "<") && peek(2) == UInt8(ascii: "<"):
            return .string(try parseHeredoc())
        case UInt8(ascii: "-"), UInt8(ascii: "+"):
            i += 1
            let v = try parsePrimary()
            switch v {
            case .int(let n): return c == UInt8(ascii: "-") ? (n == Int.min ? .float(-Double(n)) : .int(-n)) : .int(n)
            case .float(let d): return .float(c == UInt8(ascii: "-") ? -d : d)
            default: throw error("a sign must be followed by a number")
            }
        case UInt8(ascii: "("):
            i += 1
            let v = try parseExpression()
            try expect(")")
            return v
        case UInt8(ascii: "\\"):
            i += 1
            return try parseConstant()
        default:
            if Parser.isDigit(c) || (c == UInt8(ascii: ".") && (peek(1).map(Parser.isDigit) ?? false)) {
                return try parseNumber()
            }
            if Parser.isIdentStart(c) { return try parseConstant() }
            if c == UInt8(ascii: "$") { throw error("variables are not supported") }
            throw error("unexpected character '\(Character(Unicode.Scalar(c)))'")
        }
    }

    mutating func parseConstant() throws -> PHPValue {
        let start = i
        if matchesKeyword("true") { i += 4; return .bool(true) }
        if matchesKeyword("false") { i += 5; return .bool(false) }
        if matchesKeyword("null") { i += 4; return .null }
        if matchesKeyword("array") {
            i += 5
            try skipTrivia()
            if peek() == UInt8(ascii: "(") {
                i += 1
                return try parseArrayBody(close: UInt8(ascii: ")"))
            }
            throw error("expected '(' after 'array'")
        }
        // A constant, class constant or call: `PDO::MYSQL_ATTR_SSL_CA` (the leading `\` was
        // taken by the caller), `Foo\Bar::class`, `getenv('DB_PASS')`. Kept as text.
        while let c = peek(), Parser.isIdent(c) || c == UInt8(ascii: "\\") || (c == UInt8(ascii: ":") && peek(1) == UInt8(ascii: ":")) {
            i += c == UInt8(ascii: ":") ? 2 : 1
        }
        try skipTrivia()
        if peek() == UInt8(ascii: "(") {
            var depth = 0
            while let c = peek() {
                if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
                    _ = try parsePrimary()   // a string argument, quotes and escapes and all
                    continue
                }
                i += 1
                if c == UInt8(ascii: "(") { depth += 1 }
                if c == UInt8(ascii: ")") { depth -= 1; if depth == 0 { break } }
            }
            if depth != 0 { throw error("unterminated call", at: start) }
        }
        let text = String(decoding: s[start..<i], as: UTF8.self).trimmingCharacters(in: .whitespaces)
        if text.isEmpty { throw error("expected a value", at: start) }
        return .expression(text)
    }

    mutating func parseArrayBody(close: UInt8) throws -> PHPValue {
        var entries: [(key: PHPArrayKey, value: PHPValue)] = []
        var index: [PHPArrayKey: Int] = [:]
        var nextInt = 0
        while true {
            try skipTrivia()
            if peek() == close { i += 1; break }
            guard !atEnd else { throw error("unterminated array") }
            let entryAt = i
            let first = try parseExpression()
            try skipTrivia()
            var key: PHPArrayKey
            var value: PHPValue
            if peek() == UInt8(ascii: "=") && peek(1) == UInt8(ascii: ">") {
                i += 2
                value = try parseExpression()
                switch first {
                case .int(let n): key = .int(n)
                case .string(let str): key = PHPArrayKey.normalized(str)
                case .bool(let b): key = .int(b ? 1 : 0)
                case .float(let d):
                    guard d.isFinite, abs(d) < 9.2e18 else { throw error("float key out of range", at: entryAt) }
                    key = .int(Int(d))
                case .null: key = .string("")
                case .array: throw error("an array cannot be a key", at: entryAt)
                case .expression(let text): key = .string(text)
                }
            } else {
                key = .int(nextInt)
                value = first
            }
            if case .int(let n) = key, n >= nextInt { nextInt = n == Int.max ? n : n + 1 }
            if let at = index[key] {
                entries[at].value = value   // PHP: a later duplicate replaces the value, keeps the place
            } else {
                index[key] = entries.count
                entries.append((key, value))
            }
            try skipTrivia()
            if peek() == UInt8(ascii: ",") { i += 1; continue }
            if peek() == close { i += 1; break }
            throw error(atEnd ? "unterminated array" : "expected ',' or '\(Character(Unicode.Scalar(close)))' in array")
        }
        return .array(entries)
    }

    // MARK: numbers

    mutating func parseNumber() throws -> PHPValue {
        let start = i
        func digits(_ ok: (UInt8) -> Bool) -> [UInt8] {
            var out: [UInt8] = []
            while let c = peek() {
                if ok(c) { out.append(c); i += 1 }
                else if c == UInt8(ascii: "_"), let n = peek(1), ok(n), !out.isEmpty { i += 1 }
                else { break }
            }
            return out
        }
        if peek() == 48, let x = peek(1).map(Parser.lower), x == UInt8(ascii: "x") || x == UInt8(ascii: "b") || x == UInt8(ascii: "o") {
            i += 2
            let radix = x == UInt8(ascii: "x") ? 16 : (x == UInt8(ascii: "b") ? 2 : 8)
            let d = digits { c in
                let v: Int
                switch c {
                case 48...57: v = Int(c) - 48
                case 97...102: v = Int(c) - 87
                case 65...70: v = Int(c) - 55
                default: return false
                }
                return v < radix
            }
            guard !d.isEmpty else { throw error("malformed number", at: start) }
            return Parser.integer(d, radix: radix)
        }
        var text = digits(Parser.isDigit)
        var isFloat = false
        if peek() == UInt8(ascii: "."), !(peek(1) == UInt8(ascii: ".")) {
            isFloat = true
            i += 1
            text.append(UInt8(ascii: "."))
            text += digits(Parser.isDigit)
        }
        if let e = peek(), Parser.lower(e) == UInt8(ascii: "e") {
            var k = 1
            if let sgn = peek(1), sgn == UInt8(ascii: "+") || sgn == UInt8(ascii: "-") { k = 2 }
            if let d = peek(k), Parser.isDigit(d) {
                isFloat = true
                text.append(UInt8(ascii: "e"))
                if k == 2 { text.append(peek(1)!) }
                i += k
                text += digits(Parser.isDigit)
            }
        }
        if let c = peek(), Parser.isIdent(c) { throw error("malformed number", at: start) }
        if isFloat {
            guard let d = Double(String(decoding: text, as: UTF8.self)) else { throw error("malformed number", at: start) }
            return .float(d)
        }
        if text.count > 1 && text[0] == 48 {   // legacy octal: 0755
            guard text.allSatisfy({ $0 < 56 }) else { throw error("invalid octal number", at: start) }
            return Parser.integer(Array(text.dropFirst()), radix: 8)
        }
        return Parser.integer(text, radix: 10)
    }

    /// An integer, or a float when it does not fit in Int (PHP's overflow rule).
    static func integer(_ digits: [UInt8], radix: Int) -> PHPValue {
        var v = 0
        var overflow = false
        var d = 0.0
        for c in digits {
            let n = c <= 57 ? Int(c) - 48 : Int(lower(c)) - 87
            d = d * Double(radix) + Double(n)
            if !overflow {
                let (m, o1) = v.multipliedReportingOverflow(by: radix)
                let (a, o2) = m.addingReportingOverflow(n)
                if o1 || o2 { overflow = true } else { v = a }
            }
        }
        if overflow, radix == 10, let exact = Double(String(decoding: digits, as: UTF8.self)) { return .float(exact) }
        return overflow ? .float(d) : .int(v)
    }

    // MARK: strings

    mutating func parseSingleQuoted() throws -> String {
        let start = i
        i += 1
        var out: [UInt8] = []
        while true {
            guard let c = peek() else { throw error("unterminated string", at: start) }
            i += 1
            if c == UInt8(ascii: "'") { break }
            if c == UInt8(ascii: "\\"), let n = peek(), n == UInt8(ascii: "'") || n == UInt8(ascii: "\\") {
                out.append(n)
                i += 1
            } else {
                out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func parseDoubleQuoted() throws -> String {
        let start = i
        i += 1
        var out: [UInt8] = []
        while true {
            guard let c = peek() else { throw error("unterminated string", at: start) }
            if c == UInt8(ascii: "\"") { i += 1; break }
            try appendEscapedByte(into: &out, terminator: UInt8(ascii: "\""))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Reads one byte or escape sequence of a double-quoted string or heredoc body.
    mutating func appendEscapedByte(into out: inout [UInt8], terminator: UInt8?) throws {
        let c = s[i]
        if c == UInt8(ascii: "$"), let n = peek(1), Parser.isIdentStart(n) || n == UInt8(ascii: "{") {
            throw error("variable interpolation is not supported")
        }
        if c == UInt8(ascii: "{") && peek(1) == UInt8(ascii: "$") {
            throw error("variable interpolation is not supported")
        }
        guard c == UInt8(ascii: "\\"), let n = peek(1) else { out.append(c); i += 1; return }
        i += 2
        switch n {
        case UInt8(ascii: "n"): out.append(10)
        case UInt8(ascii: "t"): out.append(9)
        case UInt8(ascii: "r"): out.append(13)
        case UInt8(ascii: "v"): out.append(11)
        case UInt8(ascii: "e"): out.append(27)
        case UInt8(ascii: "f"): out.append(12)
        case UInt8(ascii: "\\"): out.append(92)
        case UInt8(ascii: "$"): out.append(36)
        case 48...55:
            var v = Int(n) - 48
            var k = 0
            while k < 2, let d = peek(), d >= 48 && d <= 55 { v = v * 8 + Int(d) - 48; i += 1; k += 1 }
            out.append(UInt8(v & 0xFF))
        case UInt8(ascii: "x"):
            var v = 0, k = 0
            while k < 2, let d = peek(), let h = Parser.hex(d) { v = v * 16 + h; i += 1; k += 1 }
            if k == 0 { out += [92, n] } else { out.append(UInt8(v)) }
        case UInt8(ascii: "u") where peek() == UInt8(ascii: "{"):
            let at = i - 2
            i += 1
            var v = 0
            while let d = peek(), let h = Parser.hex(d) { v = v * 16 + h; i += 1; if v > 0x10FFFF { break } }
            guard peek() == UInt8(ascii: "}"), let scalar = Unicode.Scalar(UInt32(v)) else {
                throw error("invalid \\u{...} escape", at: at)
            }
            i += 1
            out += Array(String(Character(scalar)).utf8)
        default:
            if let t = terminator, n == t { out.append(n) } else { out += [92, n] }
        }
    }

    static func hex(_ c: UInt8) -> Int? {
        switch c {
        case 48...57: return Int(c) - 48
        case 97...102: return Int(c) - 87
        case 65...70: return Int(c) - 55
        default: return nil
        }
    }

    /// `<<<ID`, `<<<"ID"` (heredoc, escapes apply) or `<<<'ID'` (nowdoc, raw), with
    /// PHP 7.3's indented closing marker whose indentation is removed from every line.
    mutating func parseHeredoc() throws -> String {
        let start = i
        i += 3
        while peek() == 32 || peek() == 9 { i += 1 }
        var quote: UInt8? = nil
        if let q = peek(), q == UInt8(ascii: "'") || q == UInt8(ascii: "\"") { quote = q; i += 1 }
        let idStart = i
        while let c = peek(), Parser.isIdent(c) { i += 1 }
        let id = Array(s[idStart..<i])
        guard !id.isEmpty else { throw error("expected a heredoc label", at: start) }
        if let q = quote { guard peek() == q else { throw error("unterminated heredoc label", at: start) }; i += 1 }
        if peek() == 13 { i += 1 }
        guard peek() == 10 else { throw error("expected a new line after the heredoc label") }
        i += 1
        // Find the closing line: optional indentation, the label, then a non-identifier byte.
        var lines: [ArraySlice<UInt8>] = []
        var indent = 0
        while true {
            guard !atEnd else { throw error("unterminated heredoc", at: start) }
            let lineStart = i
            while let c = peek(), c != 10 { i += 1 }
            let line = s[lineStart..<i]
            var k = line.startIndex
            while k < line.endIndex, line[k] == 32 || line[k] == 9 { k += 1 }
            if line[k...].starts(with: id), k + id.count == line.endIndex || !Parser.isIdent(line[k + id.count]) {
                indent = k - lineStart
                i = k + id.count
                break
            }
            lines.append(line)
            if peek() == 10 { i += 1 }
        }
        var raw: [UInt8] = []
        for (n, line) in lines.enumerated() {
            var l = line
            if l.last == 13 { l = l.dropLast() }
            raw += l.dropFirst(min(indent, l.prefix(while: { $0 == 32 || $0 == 9 }).count))
            if n < lines.count - 1 { raw.append(10) }
        }
        if quote == UInt8(ascii: "'") { return String(decoding: raw, as: UTF8.self) }
        var sub = Parser(raw)
        var out: [UInt8] = []
        while !sub.atEnd { try sub.appendEscapedByte(into: &out, terminator: nil) }
        return String(decoding: out, as: UTF8.self)
    }
}

private extension PHPValue {
    var concatenable: String? {
        switch self {
        case .array, .expression: return nil
        default: return stringValue
        }
    }
}
