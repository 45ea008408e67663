/// Encoding and decoding of pax extended-header records (`"%d %s=%s\n"`, POSIX.1-2001).
///
/// Each record starts with its own total length in decimal, so values may hold any byte
/// except that keys may not contain `=`; StreamTar stores names as raw bytes.
enum PAXRecords {
    /// Keys StreamTar writes and reads.
    enum Key {
        static let path = "path"
        static let linkPath = "linkpath"
        static let size = "size"
        static let mtime = "mtime"
        static let uid = "uid"
        static let gid = "gid"
        static let userName = "uname"
        static let groupName = "gname"
        static let headerCharset = "hdrcharset"
    }

    /// The error for a malformed record; the reader adds the entry and offset.
    static func paxError(_ why: String) -> TarError { TarError(.invalidPAXRecord(why)) }

    /// One record: its total length prefix counts itself, so try the digit count until stable.
    static func encode(key: String, value: [UInt8]) -> [UInt8] {
        let payload = 1 + key.utf8.count + 1 + value.count + 1  // " " key "=" value "\n"
        var length = payload + 1
        while String(length).utf8.count + payload != length { length = String(length).utf8.count + payload }
        var out = Array(String(length).utf8)
        out.append(0x20)
        out += key.utf8
        out.append(UInt8(ascii: "="))
        out += value
        out.append(0x0a)
        return out
    }

    /// Splits a whole extended-header body into (key, value) pairs, in order.
    /// - Throws: `TarError.Kind.invalidPAXRecord` naming what is wrong; the caller adds context.
    static func decode(_ body: [UInt8]) throws -> [(key: String, value: [UInt8])] {
        var records: [(key: String, value: [UInt8])] = []
        var i = 0
        while i < body.count {
            // GNU tar and bsdtar ignore trailing NUL padding of the body; do the same.
            if body[i] == 0, body[i...].allSatisfy({ $0 == 0 }) { break }
            var length = 0
            var j = i
            while j < body.count, body[j] >= UInt8(ascii: "0") && body[j] <= UInt8(ascii: "9") {
                length = length * 10 + Int(body[j] - UInt8(ascii: "0"))
                if length > body.count { throw paxError("record length exceeds the header body") }
                j += 1
            }
            guard j > i, j < body.count, body[j] == 0x20 else {
                throw paxError("record does not start with a decimal length and a space")
            }
            let end = i + length
            guard end <= body.count, end > j + 1 else { throw paxError("record length \(length) does not fit the header body") }
            guard body[end - 1] == 0x0a else { throw paxError("record of length \(length) does not end with a newline") }
            let record = body[(j + 1)..<(end - 1)]
            guard let eq = record.firstIndex(of: UInt8(ascii: "=")), eq > record.startIndex else {
                throw paxError("record has no key=value")
            }
            guard let key = String(validatingUTF8Bytes: Array(record[record.startIndex..<eq])) else {
                throw paxError("key is not UTF-8")
            }
            records.append((key, Array(record[(eq + 1)...])))
            i = end
        }
        return records
    }

    /// A non-negative decimal integer value (size, uid, gid).
    static func parseDecimal(_ value: [UInt8], key: String) throws -> Int64 {
        guard !value.isEmpty else { throw paxError("empty \(key)") }
        var n: Int64 = 0
        for b in value {
            guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") else { throw paxError("\(key) is not a decimal number") }
            let (m, o1) = n.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(b - UInt8(ascii: "0")))
            if o1 || o2 { throw paxError("\(key) is out of range") }
            n = s
        }
        return n
    }

    /// A pax time: optional `-`, decimal seconds, optional `.` and fraction digits (kept to
    /// nanoseconds, extra digits truncated as GNU tar does).
    static func parseTime(_ value: [UInt8], key: String) throws -> TarTime {
        var digits = value[...]
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        let dot = digits.firstIndex(of: UInt8(ascii: "."))
        let whole = Array(digits[digits.startIndex..<(dot ?? digits.endIndex)])
        let seconds = try parseDecimal(whole, key: key)
        var nanos: Int64 = 0
        if let dot {
            let fraction = digits[(dot + 1)...]
            guard !fraction.isEmpty else { throw paxError("\(key) has an empty fraction") }
            var scale: Int64 = 100_000_000
            for b in fraction {
                guard b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") else { throw paxError("\(key) is not a decimal time") }
                nanos += Int64(b - UInt8(ascii: "0")) * scale
                scale /= 10
            }
        }
        if !negative { return TarTime(seconds: seconds, nanoseconds: Int32(nanos)) }
        if nanos == 0 { return TarTime(seconds: -seconds, nanoseconds: 0) }
        return TarTime(seconds: -seconds - 1, nanoseconds: Int32(1_000_000_000 - nanos))
    }

    /// The pax text of a time: `seconds[.fraction]`, fraction without trailing zeros.
    static func formatTime(_ t: TarTime) -> String {
        guard t.nanoseconds != 0 else { return String(t.seconds) }
        var sign = ""
        var seconds = t.seconds
        var nanos = Int64(t.nanoseconds)
        if seconds < 0 {
            sign = "-"
            seconds = -(seconds + 1)
            nanos = 1_000_000_000 - nanos
        }
        var fraction = String(nanos)
        while fraction.count < 9 { fraction = "0" + fraction }
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(sign)\(seconds).\(fraction)"
    }
}
