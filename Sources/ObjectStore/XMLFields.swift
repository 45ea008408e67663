/// The few values S3's XML answers carry, found by tag name: the answers are flat enough
/// (`<Key>`, `<Size>`, `<UploadId>`, `<Code>`) that a scanner serves where a parser would
/// only add weight. Entities are decoded; CDATA does not occur in these answers.
enum XMLFields {
    /// Every `<tag>value</tag>` in order: values, or the inner text of record blocks
    /// (`<Contents>`, `<Upload>`) to read fields from.
    static func all(_ tag: String, in xml: String) -> [String] {
        var out: [String] = []
        let open = "<\(tag)>", close = "</\(tag)>"
        var rest = xml[...]
        while let a = rest.range(of: open), let b = rest[a.upperBound...].range(of: close) {
            out.append(decode(String(rest[a.upperBound..<b.lowerBound])))
            rest = rest[b.upperBound...]
        }
        return out
    }

    static func first(_ tag: String, in xml: String) -> String? { all(tag, in: xml).first }

    static func decode(_ s: String) -> String {
        guard s.contains("&") else { return s }
        return s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&#34;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
