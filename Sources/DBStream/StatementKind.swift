/// How a statement is scheduled, from its first words.
enum StatementKind: Equatable {
    case session
    case data(String)
    case alterTable(String, endsData: Bool)
    case tableDDL(String, isCreate: Bool)
    case lock
    case other

    init(_ text: [UInt8]) {
        var t = Tokens(text)
        let w0 = t.word()
        switch w0 {
        case "SET":
            // `SET STATEMENT v=x FOR <statement>` is that statement, and `SET GLOBAL` changes the
            // server once: neither is a session setting every connection must repeat.
            if t.startsWith("@@GLOBAL.") { self = .other; return }
            let w = t.word()
            if w == "STATEMENT" || w == "GLOBAL" { self = .other; return }
            self = .session
        case "USE":
            self = .session
        case "INSERT", "REPLACE":
            var w = t.word()
            while ["LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE"].contains(w) { w = t.word() }
            if w == "INTO", let name = t.name() { self = .data(name) } else { self = .other }
        case "LOCK", "UNLOCK":
            let w = t.word()
            self = (w == "TABLES" || w == "TABLE") ? .lock : .other
        case "ALTER":
            if t.word() == "TABLE", let name = t.name() {
                self = .alterTable(name, endsData: t.word() == "ENABLE" && t.word() == "KEYS")
            } else {
                self = .other
            }
        case "DROP":
            guard t.word() == "TABLE" else { self = .other; return }
            var probe = t
            if probe.word() == "IF", probe.word() == "EXISTS" { t = probe }
            if let name = t.name(), t.atEnd { self = .tableDDL(name, isCreate: false) } else { self = .other }
        case "CREATE":
            var w = t.word()
            if w == "OR" { self = .other; return }
            if w == "TEMPORARY" { self = .other; return }
            guard w == "TABLE" else { self = .other; return }
            var save = t
            w = t.word()
            if w == "IF", t.word() == "NOT", t.word() == "EXISTS" { save = t }
            t = save
            if let name = t.name() { self = .tableDDL(name, isCreate: true) } else { self = .other }
        default:
            self = .other
        }
    }

    /// True when the statement holds the word SELECT outside quotes and backticks: it reads
    /// tables (`INSERT ... SELECT`, a subquery in VALUES, `CREATE TABLE ... AS SELECT`), so it
    /// must wait for every statement before it, whatever table those load.
    static func readsTables(_ text: [UInt8]) -> Bool {
        hasWord(text, "SELECT")
    }

    /// True when the statement holds `word` (upper-case ASCII) outside quotes and backticks,
    /// between non-identifier bytes.
    static func hasWord(_ text: [UInt8], _ word: StaticString) -> Bool {
        let first = word.utf8Start[0] | 0x20
        return text.withUnsafeBufferPointer { p in
            let n = p.count
            var k = 0
            while k < n {
                let c = p[k]
                if c == 0x27 || c == 0x22 || c == 0x60 {   // ' " `
                    k = skipQuoted(p, from: k)
                    continue
                }
                if c | 0x20 == first, isWord(p, at: k, word) { return true }
                k += 1
            }
            return false
        }
    }

    /// The offsets just past each occurrence of `word` (upper-case ASCII) outside quotes and
    /// backticks, between non-identifier bytes.
    static func wordEnds(_ text: [UInt8], _ word: StaticString) -> [Int] {
        let first = word.utf8Start[0] | 0x20, len = word.utf8CodeUnitCount
        return text.withUnsafeBufferPointer { p in
            var ends: [Int] = []
            var k = 0
            while k < p.count {
                let c = p[k]
                if c == 0x27 || c == 0x22 || c == 0x60 { k = skipQuoted(p, from: k); continue }
                if c | 0x20 == first, isWord(p, at: k, word) { ends.append(k + len); k += len; continue }
                k += 1
            }
            return ends
        }
    }

    /// Index after the quoted string or identifier opening at `k` (backslash escapes and
    /// doubled quotes inside strings, doubled backticks inside identifiers).
    static func skipQuoted(_ p: UnsafeBufferPointer<UInt8>, from k: Int) -> Int {
        let q = p[k], n = p.count
        var i = k + 1
        while i < n {
            let d = p[i]
            if d == 0x5C, q != 0x60 { i += 2; continue }
            if d == q {
                if i + 1 < n, p[i + 1] == q { i += 2; continue }
                return i + 1
            }
            i += 1
        }
        return n
    }

    /// True when the bytes at `k` are `word` (any case) between non-identifier bytes.
    static func isWord(_ p: UnsafeBufferPointer<UInt8>, at k: Int, _ word: StaticString) -> Bool {
        let n = p.count, len = word.utf8CodeUnitCount
        guard k + len <= n, k == 0 || !isIdentifierByte(p[k - 1]) else { return false }
        if k + len < n, isIdentifierByte(p[k + len]) { return false }
        let w = word.utf8Start
        for i in 0..<len where p[k + i] & 0xDF != w[i] { return false }
        return true
    }

    private static func isIdentifierByte(_ b: UInt8) -> Bool {
        (b | 0x20 >= 97 && b | 0x20 <= 122) || (b >= 48 && b <= 57) || b == 95 || b == 36 || b >= 0x80
    }

    /// The table after `TRIGGER name {BEFORE|AFTER} event ON`, as ``Tokens/name()`` reads it.
    static func triggerTable(_ text: [UInt8]) -> String? {
        text.withUnsafeBufferPointer { p -> String? in
            var k = 0, sawTrigger = false
            while k < p.count {
                let c = p[k]
                if c == 0x27 || c == 0x22 || c == 0x60 { k = skipQuoted(p, from: k); continue }
                if !sawTrigger, c | 0x20 == UInt8(ascii: "t"), isWord(p, at: k, "TRIGGER") { sawTrigger = true; k += 7; continue }
                if sawTrigger, c | 0x20 == UInt8(ascii: "o"), isWord(p, at: k, "ON") {
                    var t = Tokens(text)
                    t.i = k + 2
                    return t.name()
                }
                k += 1
            }
            return nil
        }
    }

    /// `ALTER TABLE t DISABLE KEYS` (also inside `/*!40000 ... */`).
    static func disablesKeys(_ text: [UInt8]) -> Bool {
        var t = Tokens(text)
        guard t.word() == "ALTER", t.word() == "TABLE", t.name() != nil else { return false }
        return t.word() == "DISABLE" && t.word() == "KEYS"
    }

    static func createsTemporaryTable(_ text: [UInt8]) -> Bool {
        var t = Tokens(text)
        guard t.word() == "CREATE" else { return false }
        var w = t.word()
        if w == "OR", t.word() == "REPLACE" { w = t.word() }
        return w == "TEMPORARY"
    }

    /// START TRANSACTION or BEGIN (not BEGIN NOT ATOMIC, a compound statement).
    static func startsTransaction(_ text: [UInt8]) -> Bool {
        var t = Tokens(text)
        let w = t.word()
        if w == "START" { return t.word() == "TRANSACTION" }
        return w == "BEGIN" && (t.atEnd || t.word() == "WORK")
    }

    /// True for a plain `INSERT [LOW_PRIORITY|HIGH_PRIORITY] INTO t VALUES (...),...`
    /// of row tuples only: the order of such statements does not change the result
    /// (unlike INSERT IGNORE, REPLACE, ON DUPLICATE KEY UPDATE or INSERT ... SELECT).
    static func isAnyOrderInsert(_ text: [UInt8]) -> Bool {
        var t = Tokens(text)
        guard t.word() == "INSERT" else { return false }
        var w = t.word()
        while w == "LOW_PRIORITY" || w == "HIGH_PRIORITY" { w = t.word() }
        guard w == "INTO", t.name() != nil else { return false }
        return t.onlyRowTuples()
    }
}

/// A tiny reader of a statement's first words: skips whitespace and the
/// openers of conditional comments (`/*!40000`, `/*M!100101`) and their closers.
struct Tokens {
    let b: [UInt8]
    var i = 0
    init(_ b: [UInt8]) { self.b = b }

    mutating func skip() {
        while i < b.count {
            let c = b[i]
            if c == 32 || c == 9 || c == 10 || c == 13 { i += 1; continue }
            if c == UInt8(ascii: "/"), i + 2 < b.count, b[i + 1] == UInt8(ascii: "*") {
                var k = i + 2
                if k < b.count, b[k] == UInt8(ascii: "M") { k += 1 }
                if k < b.count, b[k] == UInt8(ascii: "!") {
                    k += 1
                    while k < b.count, b[k] >= 48, b[k] <= 57 { k += 1 }
                    i = k
                    continue
                }
            }
            if c == UInt8(ascii: "*"), i + 1 < b.count, b[i + 1] == UInt8(ascii: "/") { i += 2; continue }
            return
        }
    }

    var atEnd: Bool { mutating get { skip(); return i >= b.count } }

    /// After a table name: true when the rest is `VALUES`/`VALUE` and one or more `(...)`
    /// tuples of literals only (strings, numbers, hex and bit literals, NULL, TRUE, FALSE, a
    /// character set introducer before a string), none opening with NULL or 0 (a generated
    /// AUTO_INCREMENT number), separated by commas, with nothing after the last (no `ON
    /// DUPLICATE KEY UPDATE`, `RETURNING`, `SELECT`, `SET`). A column list makes it false: it
    /// may leave out an AUTO_INCREMENT column, and generated numbers follow the order of the
    /// rows (dumps write every column's value). So does anything else in a tuple: DEFAULT (a
    /// generated number again), a function (LAST_INSERT_ID(), NOW()), a user variable or a
    /// subquery, whose values depend on the connection or on what ran before. Strings are
    /// skipped with backslash escapes and doubled quotes, as the server reads them by default
    /// (the restorer stops spreading once a dump sets NO_BACKSLASH_ESCAPES). One pass.
    mutating func onlyRowTuples() -> Bool {
        skip()
        let w = word()
        guard w == "VALUES" || w == "VALUE" else { return false }
        return b.withUnsafeBufferPointer { p in
            let n = p.count
            var k = i, depth = 0, tuples = 0
            func isNameByte(_ d: UInt8) -> Bool {
                (d | 0x20 >= 97 && d | 0x20 <= 122) || (d >= 48 && d <= 57) || d == 95 || d == 36 || d >= 0x80
            }
            while k < n {
                let c = p[k]
                if c == 0x27 || c == 0x22 {   // ' "
                    k = StatementKind.skipQuoted(p, from: k)
                    continue
                }
                if c == UInt8(ascii: "(") {
                    if depth > 0 { return false }   // a function's arguments or a subquery
                    depth = 1
                    // A tuple opening with NULL or 0 most likely asks an AUTO_INCREMENT first
                    // column for a number, and numbers follow the order the rows arrive in.
                    if Self.opensWithGeneratedKey(p, after: k) { return false }
                } else if c == UInt8(ascii: ")") {
                    if depth == 0 { return false }
                    depth = 0
                    tuples += 1
                } else if c == 32 || c == 9 || c == 10 || c == 13 || c == UInt8(ascii: ",") {
                    // between values or tuples
                } else if depth == 0 {
                    return false
                } else if (c >= 48 && c <= 57) || c == UInt8(ascii: ".") || c == UInt8(ascii: "-") || c == UInt8(ascii: "+") {
                    // a number, 0x.. or 0b..: its letters are read with it
                    k += 1
                    while k < n, isNameByte(p[k]) || p[k] == UInt8(ascii: ".") { k += 1 }
                    continue
                } else if isNameByte(c) && c < 0x80 {
                    let start = k
                    while k < n, isNameByte(p[k]) { k += 1 }
                    let word = String(decoding: p[start..<k], as: UTF8.self).uppercased()
                    var next = k
                    while next < n, p[next] == 32 || p[next] == 9 { next += 1 }
                    let quoteFollows = next < n && (p[next] == 0x27 || p[next] == 0x22)
                    switch word {
                    case "NULL", "TRUE", "FALSE": continue
                    case "X" where quoteFollows && next == k, "B" where quoteFollows && next == k:
                        continue   // x'..', b'..'
                    default:
                        if word.hasPrefix("_") && quoteFollows { continue }   // _binary '..'
                        return false
                    }
                } else {
                    return false   // an operator, a user variable, a backtick-quoted name
                }
                k += 1
            }
            return depth == 0 && tuples > 0
        }
    }

    /// True when the value after the `(` at `k` is `NULL` or `0`.
    static func opensWithGeneratedKey(_ p: UnsafeBufferPointer<UInt8>, after k: Int) -> Bool {
        let n = p.count
        var j = k + 1
        while j < n, p[j] == 32 || p[j] == 9 || p[j] == 10 || p[j] == 13 { j += 1 }
        var end = j
        if j < n, p[j] == UInt8(ascii: "0") {
            end = j + 1
        } else if j + 4 <= n, p[j] & 0xDF == 0x4E, p[j + 1] & 0xDF == 0x55, p[j + 2] & 0xDF == 0x4C, p[j + 3] & 0xDF == 0x4C {
            end = j + 4   // NULL
        } else {
            return false
        }
        while end < n, p[end] == 32 || p[end] == 9 || p[end] == 10 || p[end] == 13 { end += 1 }
        return end < n && (p[end] == UInt8(ascii: ",") || p[end] == UInt8(ascii: ")"))
    }

    /// The next bare word, upper-cased ("" when none).
    /// True when the next bytes (after whitespace) are `prefix` (upper-case ASCII), any case.
    mutating func startsWith(_ prefix: StaticString) -> Bool {
        skip()
        let n = prefix.utf8CodeUnitCount, w = prefix.utf8Start
        guard i + n <= b.count else { return false }
        for k in 0..<n where b[i + k] & 0xDF != w[k] & 0xDF { return false }
        return true
    }

    mutating func word() -> String {
        skip()
        let start = i
        while i < b.count, (b[i] | 0x20) >= 97 && (b[i] | 0x20) <= 122 || b[i] == 95 { i += 1 }
        return String(decoding: b[start..<i], as: UTF8.self).uppercased()
    }

    /// The next table name (`name`, `` `na``me` ``, or qualified `db`.`t`), unquoted.
    mutating func name() -> String? {
        skip()
        var parts: [String] = []
        while i < b.count {
            if b[i] == 0x60 {
                var out: [UInt8] = []
                i += 1
                while i < b.count {
                    if b[i] == 0x60 {
                        if i + 1 < b.count, b[i + 1] == 0x60 { out.append(0x60); i += 2; continue }
                        i += 1
                        break
                    }
                    out.append(b[i]); i += 1
                }
                parts.append(String(decoding: out, as: UTF8.self))
            } else {
                let start = i
                while i < b.count, b[i] > 32, b[i] != UInt8(ascii: "."), b[i] != UInt8(ascii: "("),
                      b[i] != UInt8(ascii: ","), b[i] != UInt8(ascii: ";"), b[i] != UInt8(ascii: "*") { i += 1 }
                guard i > start else { break }
                parts.append(String(decoding: b[start..<i], as: UTF8.self))
            }
            if i < b.count, b[i] == UInt8(ascii: ".") { i += 1; continue }
            break
        }
        return parts.isEmpty ? nil : parts.joined(separator: ".")
    }
}
