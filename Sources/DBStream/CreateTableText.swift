/// The parts of a `CREATE TABLE name (definitions) options` statement the restore reads: the
/// name as written, the top-level definitions (columns, keys, constraints), trimmed, and
/// whether the options name InnoDB. Nil for any other form (`IF NOT EXISTS`, `LIKE`, a comment
/// inside the definitions, an unbalanced body).
struct CreateTableText {
    /// Where the table's name is in the statement.
    let name: Range<Int>
    /// Offsets of the parentheses around the definitions.
    let open: Int, close: Int
    let definitions: [ArraySlice<UInt8>]
    let isInnoDB: Bool

    init?(_ text: [UInt8]) {
        var t = Tokens(text)
        guard t.word() == "CREATE", t.word() == "TABLE" else { return nil }
        t.skip()
        let nameStart = t.i
        guard t.name() != nil else { return nil }
        name = nameStart..<t.i
        t.skip()
        guard t.i < text.count, text[t.i] == UInt8(ascii: "("),   // also rules out IF NOT EXISTS
              let parts = Self.definitions(text, open: t.i) else { return nil }
        open = parts.open
        close = parts.close
        definitions = parts.list
        isInnoDB = Self.isInnoDB(Array(text[(parts.close + 1)...]))
    }

    /// The top-level definitions between the parenthesis at `open` and its match, trimmed;
    /// nil on a comment or an unbalanced body.
    private static func definitions(_ text: [UInt8], open: Int)
        -> (list: [ArraySlice<UInt8>], open: Int, close: Int)? {
        text.withUnsafeBufferPointer { p -> (list: [ArraySlice<UInt8>], open: Int, close: Int)? in
            var list: [ArraySlice<UInt8>] = []
            var depth = 0, start = open + 1, k = open
            while k < p.count {
                let c = p[k]
                switch c {
                case 0x27, 0x22, 0x60:
                    k = StatementKind.skipQuoted(p, from: k)
                    continue
                case UInt8(ascii: "#"):
                    return nil
                case UInt8(ascii: "/") where k + 1 < p.count && p[k + 1] == UInt8(ascii: "*"):
                    return nil
                case UInt8(ascii: "-") where k + 1 < p.count && p[k + 1] == UInt8(ascii: "-"):
                    return nil
                case UInt8(ascii: "("):
                    depth += 1
                case UInt8(ascii: ")"):
                    depth -= 1
                    if depth == 0 {
                        list.append(trimmed(text[start..<k]))
                        return list.contains { $0.isEmpty } ? nil : (list, open, k)
                    }
                case UInt8(ascii: ",") where depth == 1:
                    list.append(trimmed(text[start..<k]))
                    start = k + 1
                default:
                    break
                }
                k += 1
            }
            return nil
        }
    }

    private static func trimmed(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        let space: (UInt8) -> Bool = { $0 == 32 || $0 == 9 || $0 == 10 || $0 == 13 }
        guard let a = s.firstIndex(where: { !space($0) }), let b = s.lastIndex(where: { !space($0) }) else { return [] }
        return s[a...b]
    }

    /// True when the table options say `ENGINE=InnoDB` (a table without the clause takes the
    /// server's default engine, which this reader cannot know).
    private static func isInnoDB(_ options: [UInt8]) -> Bool {
        guard let end = StatementKind.wordEnds(options, "ENGINE").first else { return false }
        var t = Tokens(options)
        t.i = end
        t.skip()
        if t.i < options.count, options[t.i] == UInt8(ascii: "=") { t.i += 1 }
        return t.word() == "INNODB"
    }
}
