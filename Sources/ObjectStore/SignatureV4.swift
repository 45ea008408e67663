import Foundation

/// AWS Signature Version 4 for S3 requests, header form.
///
/// Payloads are sent as `UNSIGNED-PAYLOAD`: hashing every 8 MiB part would cost a second pass
/// over a backup's bytes (about as much CPU as reading them), and the archive's own CRCs
/// check its content on every restore; TLS protects it in transit where the endpoint is https.
struct SignatureV4 {
    let settings: S3Settings
    static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// The headers to add (`Authorization`, `x-amz-date`, `x-amz-content-sha256`, the
    /// session token) for a request of `method` to `path` (already URI-encoded) with `query`
    /// (unencoded pairs) and the `headers` it carries (lower-case names), at `date`.
    func sign(method: String, host: String, path: String, query: [(String, String)], headers: [String: String],
              payloadHash: String = unsignedPayload, date: Date = Date()) -> [String: String] {
        let (amzDate, day) = Self.timestamps(date)
        var all = headers
        all["host"] = host
        all["x-amz-date"] = amzDate
        all["x-amz-content-sha256"] = payloadHash
        if let token = settings.sessionToken { all["x-amz-security-token"] = token }
        let names = all.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(all[$0]!.trimmingCharacters(in: .whitespaces))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let canonicalQuery = Self.canonicalQuery(query)
        let parts: [String] = [method, path, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash]
        let request = parts.joined(separator: "\n")
        let scope = "\(day)/\(settings.region)/s3/aws4_request"
        let requestHash: String = Digest.hex(Digest.sha256(Array(request.utf8)))
        let toSign: [String] = ["AWS4-HMAC-SHA256", amzDate, scope, requestHash]
        let stringToSign = toSign.joined(separator: "\n")
        var key = Digest.hmacSHA256(key: Array("AWS4\(settings.secretKey)".utf8), Array(day.utf8))
        for part in [settings.region, "s3", "aws4_request"] { key = Digest.hmacSHA256(key: key, Array(part.utf8)) }
        let signature = Digest.hex(Digest.hmacSHA256(key: key, Array(stringToSign.utf8)))
        var out = all
        out.removeValue(forKey: "host")   // libcurl sends Host from the URL
        out["authorization"] = "AWS4-HMAC-SHA256 Credential=\(settings.accessKey)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return out
    }

    /// `k=v&...` sorted by key, both URI-encoded; a key without a value is `k=`.
    static func canonicalQuery(_ query: [(String, String)]) -> String {
        var pairs: [(key: String, value: String)] = []
        for (k, v) in query { pairs.append((uriEncode(k, slash: true), uriEncode(v, slash: true))) }
        pairs.sort { a, b in a.key == b.key ? a.value < b.value : a.key < b.key }
        return pairs.map { p in p.key + "=" + p.value }.joined(separator: "&")
    }

    /// RFC 3986 encoding as SigV4 wants it: every byte but `A-Za-z0-9-_.~` (and `/` in paths).
    static func uriEncode(_ s: String, slash: Bool) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(b))
            case UInt8(ascii: "/") where !slash:
                out.append("/")
            default:
                out += String(format: "%%%02X", b)
            }
        }
        return out
    }

    /// `20261207T204500Z` and `20261207`, in UTC.
    static func timestamps(_ date: Date) -> (String, String) {
        var t = time_t(date.timeIntervalSince1970)
        var tm = tm()
        gmtime_r(&t, &tm)
        let day = String(format: "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday)
        return (day + String(format: "T%02d%02d%02dZ", tm.tm_hour, tm.tm_min, tm.tm_sec), day)
    }
}
