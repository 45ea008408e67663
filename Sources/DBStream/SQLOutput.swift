/// The formatting cursor of one table reader: appends SQL text into the
/// current ``OutputChunk`` and hands it on when full. A struct used `inout`
/// so the hot loops work on local pointers.
struct SQLOutput {
    private var chunk: OutputChunk
    private(set) var cur: UnsafeMutablePointer<UInt8>
    private var end: UnsafeMutablePointer<UInt8>
    /// Bytes handed on before the current chunk.
    private var flushed = 0
    /// Where the last complete statement ends in the current chunk.
    private var boundary: UnsafeMutablePointer<UInt8>? = nil
    private let hand: (OutputChunk) throws -> OutputChunk

    /// `hand` takes a filled chunk and returns an empty one.
    init(first: OutputChunk, hand: @escaping (OutputChunk) throws -> OutputChunk) {
        chunk = first
        cur = first.base
        end = first.base + first.capacity
        self.hand = hand
    }

    /// Bytes appended so far.
    var position: Int { flushed + (cur - chunk.base) }

    /// Hands on the current chunk (if not empty) and starts a new one.
    mutating func rotate() throws {
        chunk.count = cur - chunk.base
        chunk.endsStatement = cur == boundary
        boundary = nil
        flushed += chunk.count
        chunk = try hand(chunk)
        cur = chunk.base
        end = chunk.base + chunk.capacity
    }

    /// Records that a statement ends here. When less than `room` bytes are left,
    /// the chunk is handed on now, so it ends on the boundary.
    mutating func statementEnd(room: Int) throws {
        boundary = cur
        if end - cur < room { try rotate() }
    }

    /// Hands the last chunk over for good (it must not be used afterwards); it ends a statement.
    mutating func finish() -> OutputChunk {
        chunk.count = cur - chunk.base
        chunk.endsStatement = true
        return chunk
    }

    @inline(__always) private mutating func room(_ n: Int) throws {
        if end - cur < n { try rotate() }
    }

    @inline(__always) mutating func byte(_ b: UInt8) throws {
        if cur == end { try rotate() }
        cur.pointee = b
        cur += 1
    }

    /// Appends bytes as they are.
    mutating func raw(_ src: UnsafePointer<UInt8>, _ len: Int) throws {
        var s = src, left = len
        while left > 0 {
            if cur == end { try rotate() }
            let n = min(left, end - cur)
            cur.update(from: s, count: n)
            cur += n; s += n; left -= n
        }
    }

    mutating func text(_ s: String) throws {
        var s = s
        try s.withUTF8 { b in if let p = b.baseAddress { try raw(p, b.count) } }
    }

    /// Appends a string value between single quotes, escaped as
    /// `mysql_real_escape_string` does (\0 \n \r \\ \' \" \Z) so it stays on one line.
    mutating func quoted(_ src: UnsafePointer<UInt8>, _ len: Int) throws {
        try byte(0x27)
        var s = src, left = len
        let table = sqlEscapeTable
        while left > 0 {
            var avail = (end - cur) / 2
            if avail < 64 && avail < left { try rotate(); avail = (end - cur) / 2 }
            let n = min(left, avail)
            var d = cur
            for k in 0..<n {
                let c = s[k]
                let e = table[Int(c)]
                if e == 0 { d.pointee = c; d += 1 } else { d[0] = 0x5C; d[1] = e; d += 2 }
            }
            cur = d; s += n; left -= n
        }
        try byte(0x27)
    }

    /// Appends binary data as a hex literal `0x...`, or `''` when empty.
    mutating func hex(_ src: UnsafePointer<UInt8>, _ len: Int) throws {
        if len == 0 { try byte(0x27); try byte(0x27); return }
        try byte(0x30); try byte(0x78)
        var s = src, left = len
        let digits = hexDigits
        while left > 0 {
            var avail = (end - cur) / 2
            if avail < 64 && avail < left { try rotate(); avail = (end - cur) / 2 }
            let n = min(left, avail)
            var d = cur
            for k in 0..<n {
                let c = Int(s[k])
                d[0] = digits[c >> 4]; d[1] = digits[c & 15]; d += 2
            }
            cur = d; s += n; left -= n
        }
    }
}

/// For each byte: 0 when written as is, else the letter after the backslash.
let sqlEscapeTable: UnsafePointer<UInt8> = {
    let t = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
    t.initialize(repeating: 0, count: 256)
    t[0] = UInt8(ascii: "0"); t[10] = UInt8(ascii: "n"); t[13] = UInt8(ascii: "r")
    t[0x5C] = 0x5C; t[0x27] = 0x27; t[0x22] = 0x22; t[0x1A] = UInt8(ascii: "Z")
    return UnsafePointer(t)
}()

let hexDigits: UnsafePointer<UInt8> = {
    let t = UnsafeMutablePointer<UInt8>.allocate(capacity: 16)
    for (i, c) in "0123456789abcdef".utf8.enumerated() { t[i] = c }
    return UnsafePointer(t)
}()
