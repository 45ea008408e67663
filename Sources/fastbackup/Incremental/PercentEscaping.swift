/// Paths as one token of a text line: bytes outside `!`..`~`, and `%` itself, written `%XX`.
/// Used by the archive index and the tree record, which hold any name a file system allows.
enum PercentEscaping {
    private static let digits = Array("0123456789ABCDEF".utf8)

    static func escape(_ path: PathBytes, into out: inout [UInt8]) {
        if path.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "%") }) {
            out.append(contentsOf: path)
            return
        }
        for b in path {
            if b > 0x20 && b < 0x7F && b != UInt8(ascii: "%") { out.append(b) } else {
                out += [UInt8(ascii: "%"), digits[Int(b >> 4)], digits[Int(b & 15)]]
            }
        }
    }

    static func escaped(_ path: PathBytes) -> [UInt8] {
        var out: [UInt8] = []
        escape(path, into: &out)
        return out
    }

    /// nil for a `%` not followed by two hex digits.
    static func unescaped(_ text: ArraySlice<UInt8>) -> PathBytes? {
        if !text.contains(UInt8(ascii: "%")) { return PathBytes(text) }
        var out: PathBytes = []
        out.reserveCapacity(text.count)
        var i = text.startIndex
        while i < text.endIndex {
            if text[i] == UInt8(ascii: "%") {
                guard i + 2 < text.endIndex, let hi = hex(text[i + 1]), let lo = hex(text[i + 2]) else { return nil }
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}
