/// An error from the object store client: what failed, the request it failed on, and the
/// store's own code and message when it answered.
public struct S3Error: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// Credentials, region or endpoint missing or malformed.
        case settings(String)
        /// The store answered with an error status: its HTTP status, code and message.
        case status(Int, code: String, message: String)
        /// No answer: connection refused or reset, DNS, timeout (libcurl's message).
        case transport(String)
        /// The answer could not be understood.
        case protocolError(String)
        /// Stopped because another part of the same transfer failed first.
        case cancelled
        /// The store cannot do what was asked (and would silently do less).
        case refused(String)
        /// The store's certificate is not trusted.
        case tls(String)
    }

    public var kind: Kind
    /// `PUT s3://bucket/key (part 3)`, say.
    public var request: String
    /// What the client knows that the store's answer does not say (a read refused for want of
    /// the right SSE-C key, say).
    public var advice: String?

    public init(_ kind: Kind, request: String = "") {
        self.kind = kind
        self.request = request
    }

    /// Whether a retry may succeed: 5xx, 429 and SlowDown, timeouts, resets.
    public var isTransient: Bool {
        switch kind {
        case .status(let s, let code, _): return s >= 500 || s == 429 || code == "SlowDown" || code == "RequestTimeout"
        case .transport: return true
        default: return false
        }
    }

    public var description: String {
        let on = request.isEmpty ? "" : "\(request): "
        switch kind {
        case .settings(let why): return "Object store settings: \(why)"
        case .status(let s, let code, let message):
            let detail = [code, message].filter { !$0.isEmpty }.joined(separator: ": ")
            let hint = advice.map { "; " + $0 } ?? Self.hint(s, code)
            return "\(on)the object store answered \(s)\(detail.isEmpty ? "" : " (\(detail))")\(hint)"
        case .transport(let why): return "\(on)cannot reach the object store: \(why)"
        case .protocolError(let why): return "\(on)unexpected answer from the object store: \(why)"
        case .cancelled: return "\(on)stopped after an earlier failure"
        case .refused(let why): return "\(on)\(why)"
        case .tls(let why): return "\(on)the object store's certificate is not trusted: \(why)"
        }
    }

    private static func hint(_ status: Int, _ code: String) -> String {
        switch code {
        case "SignatureDoesNotMatch", "InvalidAccessKeyId": return "; check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        case "NoSuchBucket": return "; create the bucket first"
        default: return status == 403 ? "; the credentials lack permission" : ""
        }
    }
}
