/// The order the walker emits a tree in (depth-first, names sorted bytewise in each folder),
/// as one comparison of whole relative paths: bytewise, with `/` below every other byte.
/// Comparing component by component gives the same order; this form allocates nothing, and
/// the record's merge with the walk compares once per file.
enum WalkOrder {
    /// Negative, zero or positive as `a` sorts before, with or after `b`.
    static func compare(_ a: PathBytes, _ b: PathBytes) -> Int {
        let n = min(a.count, b.count)
        var i = 0
        while i < n {
            let x = a[i], y = b[i]
            if x != y {
                let rx = x == UInt8(ascii: "/") ? 0 : Int(x)
                let ry = y == UInt8(ascii: "/") ? 0 : Int(y)
                return rx - ry
            }
            i += 1
        }
        return a.count - b.count
    }
}
