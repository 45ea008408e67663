/// A key of a PHP array: PHP keeps integer and string keys apart, and turns
/// decimal-integer strings ("5"), bools and floats into integer keys.
public enum PHPArrayKey: Hashable, Sendable, CustomStringConvertible {
    /// An integer key, written `5 => ...` or implied by position.
    case int(Int)
    /// A string key, written `'db' => ...`.
    case string(String)

    /// The key as PHP would print it.
    public var description: String {
        switch self {
        case .int(let i): return String(i)
        case .string(let s): return s
        }
    }
}

/// A PHP literal value as written in a configuration file such as Magento's
/// `app/etc/env.php`. Arrays keep their entries in source order, as PHP does.
public enum PHPValue: Equatable, Sendable {
    /// A single- or double-quoted string (or heredoc/nowdoc), escapes resolved. PHP strings are
    /// bytes; bytes that are not UTF-8 are replaced when the file is decoded.
    case string(String)
    /// An integer literal (decimal, hex `0x`, octal `0`/`0o`, binary `0b`, `_` separators).
    case int(Int)
    /// A float literal, or an integer literal too large for `Int` (PHP does the same).
    case float(Double)
    /// `true` / `false`, any case.
    case bool(Bool)
    /// `null`, any case.
    case null
    /// An array literal, `[...]` or `array(...)`, entries in source order with unique keys.
    case array([(key: PHPArrayKey, value: PHPValue)])
    /// An expression that is not evaluated, kept as its source text: a constant
    /// (`\PDO::MYSQL_ATTR_SSL_CA`, `Foo::class`) or a call (`getenv('DB_PASS')`). Magento's own
    /// SSL set-up puts such keys in `driver_options`; a value fastbackup needs that is one of
    /// these is reported by name.
    case expression(String)

    /// Equal when of the same case and equal content; arrays compare entries in order.
    public static func == (lhs: PHPValue, rhs: PHPValue) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)): return a == b
        case (.int(let a), .int(let b)): return a == b
        case (.float(let a), .float(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.null, .null): return true
        case (.expression(let a), .expression(let b)): return a == b
        case (.array(let a), .array(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// The value at a string key of an array; nil when this is not an array or the key is absent.
    public subscript(key: String) -> PHPValue? {
        guard case .array(let entries) = self else { return nil }
        let k = PHPArrayKey.normalized(key)
        return entries.last(where: { $0.key == k })?.value
    }

    /// The value at an integer key of an array; nil when this is not an array or the key is absent.
    public subscript(index: Int) -> PHPValue? {
        guard case .array(let entries) = self else { return nil }
        return entries.last(where: { $0.key == .int(index) })?.value
    }

    /// The value as PHP's string conversion would give it for scalars (`(string)$v`);
    /// nil for arrays. `true` is "1", `false` and `null` are "".
    public var stringValue: String? {
        switch self {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .float(let d): return d == d.rounded() && abs(d) < 1e15 ? String(Int(d)) : String(d)
        case .bool(let b): return b ? "1" : ""
        case .null: return ""
        case .array, .expression: return nil
        }
    }
}

extension PHPArrayKey {
    /// PHP's key rule: a string that is a canonical decimal integer becomes an int key.
    static func normalized(_ s: String) -> PHPArrayKey {
        let u = Array(s.utf8)
        guard !u.isEmpty, u.count <= 20 else { return .string(s) }
        var i = 0
        if u[0] == UInt8(ascii: "-") { i = 1 }
        guard i < u.count, u[i...].allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return .string(s) }
        if u[i] == 48 && u.count - i > 1 { return .string(s) }   // "05" stays a string
        if i == 1 && u.count == 2 && u[1] == 48 { return .string(s) } // "-0" stays a string
        guard let v = Int(s) else { return .string(s) }
        return .int(v)
    }
}
