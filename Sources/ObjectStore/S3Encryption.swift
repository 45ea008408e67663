import Foundation

/// Encryption at rest for the objects a backup writes.
///
/// - `customerKey`: SSE-C. The store encrypts with a 256-bit key sent with every request
///   that writes or reads the object's data, and keeps only a salted hash of it: without the
///   key nobody (the store's operators included) reads the backup, and a lost key is a lost
///   backup. Sent on PUT, CreateMultipartUpload, UploadPart, GET and HEAD, as S3 requires.
/// - `storeManaged`: SSE-S3 (`x-amz-server-side-encryption: AES256`), keys held by the store;
///   asked for when the object is created, nothing needed to read it back.
public enum S3Encryption: Sendable, Equatable {
    case customerKey([UInt8])
    case storeManaged

    /// The requests that carry encryption headers.
    public enum Request: Sendable { case create, part, read }

    public func headers(for request: Request) -> [String: String] {
        switch (self, request) {
        case (.customerKey(let key), _):
            return [
                "x-amz-server-side-encryption-customer-algorithm": "AES256",
                "x-amz-server-side-encryption-customer-key": Data(key).base64EncodedString(),
                "x-amz-server-side-encryption-customer-key-md5": Data(Digest.md5(key)).base64EncodedString(),
            ]
        case (.storeManaged, .create): return ["x-amz-server-side-encryption": "AES256"]
        case (.storeManaged, _): return [:]
        }
    }

    /// Reads an SSE-C key from a file: 32 raw bytes, 64 hex digits, or the base64 of 32 bytes
    /// (as `openssl rand -base64 32` writes it); surrounding white space is ignored in the two
    /// text forms.
    public static func customerKey(file path: String) throws -> S3Encryption {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw S3Error(.settings("cannot read the SSE-C key file \(path): \(String(cString: strerror(errno)))"))
        }
        let bytes = [UInt8](data)
        if bytes.count == 32 { return .customerKey(bytes) }
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.count == 64, let key = hexBytes(text) { return .customerKey(key) }
        if let decoded = Data(base64Encoded: text), decoded.count == 32 { return .customerKey([UInt8](decoded)) }
        throw S3Error(.settings("the SSE-C key file \(path) must hold a 256-bit key: 32 bytes, 64 hex digits, or base64 of 32 bytes (openssl rand -base64 32)"))
    }

    private static func hexBytes(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var high: UInt8?
        for c in text.utf8 {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return out
    }
}
