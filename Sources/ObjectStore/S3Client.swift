import Foundation
import ThreadKit

/// The S3 operations a backup needs, on one connection. Not thread-safe: each thread of a
/// transfer has its own client (and so its own connection).
public final class S3Client {
    /// An object as a listing shows it.
    public struct Object: Sendable, Equatable {
        public var key: String
        public var size: Int64
        /// `2026-12-07T20:45:00.000Z`, as the store gives it.
        public var lastModified: String
    }

    /// An upload begun and neither completed nor aborted.
    public struct PendingUpload: Sendable, Equatable {
        public var key: String
        public var uploadID: String
        public var initiated: String
    }

    public let settings: S3Settings
    private let connection: HTTPConnection
    private let signer: SignatureV4
    /// Attempts per request for transient failures (5xx, 429, SlowDown, resets), with
    /// exponential backoff from `backoff` seconds.
    public var attempts = 5
    public var backoff = 0.2
    public init(settings: S3Settings) throws {
        self.settings = settings
        connection = try HTTPConnection(caBundle: settings.caBundle)
        signer = SignatureV4(settings: settings)
    }

    // MARK: - Buckets and objects

    /// Creates `bucket` (an existing one of the same owner is fine).
    public func createBucket(_ bucket: String) throws {
        let empty: [UInt8] = []
        _ = try empty.withUnsafeBytes { try request("PUT", bucket, "", body: $0, allow: [409]) }
    }

    public func head(_ bucket: String, _ key: String) throws -> (size: Int64, etag: String)? {
        let r = try request("HEAD", bucket, key, headers: encryption(.read), allow: [404])
        if r.status == 404 { return nil }
        guard let size = r.headers["content-length"].flatMap({ Int64($0) }) else {
            throw S3Error(.protocolError("no Content-Length"), request: "HEAD \(url(bucket, key))")
        }
        return (size, r.headers["etag"] ?? "")
    }

    /// Reads `range` of the object into `sink` (called as the bytes arrive).
    public func get(_ bucket: String, _ key: String, range: Range<Int64>, into sink: @escaping (UnsafeRawBufferPointer) -> Bool) throws {
        var headers = encryption(.read)
        headers["range"] = "bytes=\(range.lowerBound)-\(range.upperBound - 1)"
        let r = try request("GET", bucket, key, headers: headers, sink: sink)
        guard r.status == 206 || (r.status == 200 && range.lowerBound == 0) else {
            throw S3Error(.protocolError("status \(r.status) for a ranged GET"), request: "GET \(url(bucket, key))")
        }
    }

    public func put(_ bucket: String, _ key: String, body: UnsafeRawBufferPointer) throws {
        _ = try request("PUT", bucket, key, headers: encryption(.create), body: body)
    }

    public func delete(_ bucket: String, _ key: String) throws {
        _ = try request("DELETE", bucket, key, allow: [404])
    }

    /// Every object whose key starts with `prefix`, in key order.
    public func list(_ bucket: String, prefix: String) throws -> [Object] {
        var out: [Object] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let r = try request("GET", bucket, "", query: query)
            let xml = String(decoding: r.body, as: UTF8.self)
            for block in XMLFields.all("Contents", in: xml) {
                guard let key = XMLFields.first("Key", in: block), let size = XMLFields.first("Size", in: block).flatMap({ Int64($0) }) else { continue }
                out.append(Object(key: key, size: size, lastModified: XMLFields.first("LastModified", in: block) ?? ""))
            }
            token = XMLFields.first("IsTruncated", in: xml) == "true" ? XMLFields.first("NextContinuationToken", in: xml) : nil
        } while token != nil
        return out
    }

    // MARK: - Multipart uploads

    public func createUpload(_ bucket: String, _ key: String) throws -> String {
        let r = try request("POST", bucket, key, query: [("uploads", "")], headers: encryption(.create))
        guard let id = XMLFields.first("UploadId", in: String(decoding: r.body, as: UTF8.self)) else {
            throw S3Error(.protocolError("no UploadId"), request: "POST \(url(bucket, key))?uploads")
        }
        if settings.encryption == .storeManaged && r.headers["x-amz-server-side-encryption"] == nil {
            // Stores without SSE-S3 (RGW 16 without a key backend) accept the header and store
            // the object in the clear; S3 confirms the encryption in this header.
            try? abortUpload(bucket, key, uploadID: id)
            throw S3Error(.refused("the store did not confirm server-side encryption (no x-amz-server-side-encryption in its answer), so it would keep the backup unencrypted; use --sse-c-key-file instead"),
                          request: "POST s3://\(bucket)/\(key)?uploads")
        }
        return id
    }

    /// Uploads part `number` (from 1) and returns its ETag.
    public func uploadPart(_ bucket: String, _ key: String, uploadID: String, number: Int, body: UnsafeRawBufferPointer) throws -> String {
        let r = try request("PUT", bucket, key, query: [("partNumber", String(number)), ("uploadId", uploadID)],
                            headers: encryption(.part), body: body, describe: "part \(number)")
        guard let etag = r.headers["etag"] else {
            throw S3Error(.protocolError("no ETag for part \(number)"), request: "PUT \(url(bucket, key))")
        }
        return etag
    }

    public func completeUpload(_ bucket: String, _ key: String, uploadID: String, etags: [String]) throws {
        var xml = "<CompleteMultipartUpload>"
        for (i, etag) in etags.enumerated() {
            xml += "<Part><PartNumber>\(i + 1)</PartNumber><ETag>\(XMLFields.escape(etag))</ETag></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let bytes = Array(xml.utf8)
        let r = try bytes.withUnsafeBytes {
            try request("POST", bucket, key, query: [("uploadId", uploadID)], headers: ["content-type": "application/xml"], body: $0)
        }
        // S3 may answer 200 and put the error in the body (a failure found while assembling).
        let answer = String(decoding: r.body, as: UTF8.self)
        if answer.contains("<Error>") {
            throw S3Error(.status(r.status, code: XMLFields.first("Code", in: answer) ?? "", message: XMLFields.first("Message", in: answer) ?? ""),
                          request: "POST \(url(bucket, key))?uploadId")
        }
    }

    public func abortUpload(_ bucket: String, _ key: String, uploadID: String) throws {
        _ = try request("DELETE", bucket, key, query: [("uploadId", uploadID)], allow: [404])
    }

    /// Uploads begun under `prefix` and not finished.
    public func pendingUploads(_ bucket: String, prefix: String) throws -> [PendingUpload] {
        var out: [PendingUpload] = []
        var markers: (String, String)?
        repeat {
            var query = [("uploads", ""), ("prefix", prefix)]
            if let (k, u) = markers { query += [("key-marker", k), ("upload-id-marker", u)] }
            let r = try request("GET", bucket, "", query: query)
            let xml = String(decoding: r.body, as: UTF8.self)
            for block in XMLFields.all("Upload", in: xml) {
                guard let key = XMLFields.first("Key", in: block), let id = XMLFields.first("UploadId", in: block) else { continue }
                out.append(PendingUpload(key: key, uploadID: id, initiated: XMLFields.first("Initiated", in: block) ?? ""))
            }
            if XMLFields.first("IsTruncated", in: xml) == "true", let k = XMLFields.first("NextKeyMarker", in: xml),
               let u = XMLFields.first("NextUploadIdMarker", in: xml) {
                markers = (k, u)
            } else {
                markers = nil
            }
        } while markers != nil
        return out
    }

    /// `count` clients, `first` among them, for the workers of one transfer: each its own
    /// connection. One that cannot be made fails the transfer: going on with fewer connections
    /// once hid a libcurl loaded twice, and halved the speed.
    static func pool(_ settings: S3Settings, first: S3Client, count: Int) throws -> BoundedQueue<S3Client> {
        let clients = BoundedQueue<S3Client>(capacity: max(1, count))
        clients.push(first)
        for _ in 1..<max(1, count) { clients.push(try S3Client(settings: settings)) }
        return clients
    }

    // MARK: - Requests

    private func encryption(_ request: S3Encryption.Request) -> [String: String] {
        settings.encryption?.headers(for: request) ?? [:]
    }

    /// A read of an object refused with 400 or 403: S3 and RGW answer so both for an SSE-C
    /// object read without its key (or with another) and for a plain object read with one,
    /// and a HEAD carries no body to tell which.
    private func encryptionAdvice(method: String, key: String, status: Int) -> String? {
        guard method == "GET" || method == "HEAD", !key.isEmpty, status == 400 || status == 403 else { return nil }
        if case .customerKey = settings.encryption {
            return "the object may be encrypted with another SSE-C key, or not with SSE-C at all (check --sse-c-key-file)"
        }
        return status == 400 ? "if the backup was written with an SSE-C key, give the same key with --sse-c-key-file" : nil
    }

    /// `https://host/bucket/key` (path style) or `https://bucket.host/key`, unencoded key.
    public func url(_ bucket: String, _ key: String) -> String {
        let (base, path) = address(bucket, key)
        return base + path
    }

    private func address(_ bucket: String, _ key: String) -> (base: String, path: String) {
        let encodedKey = SignatureV4.uriEncode(key, slash: false)
        if let endpoint = settings.endpoint {
            if settings.pathStyle { return (endpoint, "/\(bucket)/\(encodedKey)") }
            let scheme = endpoint.hasPrefix("https://") ? "https://" : "http://"
            return (scheme + bucket + "." + endpoint.dropFirst(scheme.count), "/\(encodedKey)")
        }
        if settings.pathStyle { return ("https://s3.\(settings.region).amazonaws.com", "/\(bucket)/\(encodedKey)") }
        return ("https://\(bucket).s3.\(settings.region).amazonaws.com", "/\(encodedKey)")
    }

    private func request(_ method: String, _ bucket: String, _ key: String, query: [(String, String)] = [],
                         headers: [String: String] = [:], body: UnsafeRawBufferPointer? = nil,
                         sink: ((UnsafeRawBufferPointer) -> Bool)? = nil, allow: Set<Int> = [],
                         describe: String? = nil) throws -> HTTPConnection.Response {
        let (base, path) = address(bucket, key)
        let host = base.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: true).dropFirst().first.map(String.init) ?? ""
        let queryText = query.isEmpty ? "" : "?" + SignatureV4.canonicalQuery(query)
        let shown = "\(method) s3://\(bucket)/\(key)" + (describe.map { " (\($0))" } ?? "")
        var attempt = 0
        while true {
            attempt += 1
            do {
                var lowered: [String: String] = [:]
                for (k, v) in headers { lowered[k.lowercased()] = v }
                let signed = signer.sign(method: method, host: host, path: path, query: query, headers: lowered)
                let r = try connection.perform(method: method, url: base + path + queryText, headers: signed, body: body, sink: sink)
                if (200..<300).contains(r.status) || allow.contains(r.status) { return r }
                let xml = String(decoding: r.body, as: UTF8.self)
                var error = S3Error(.status(r.status, code: XMLFields.first("Code", in: xml) ?? "", message: XMLFields.first("Message", in: xml) ?? ""),
                                    request: shown)
                error.advice = encryptionAdvice(method: method, key: key, status: r.status)
                throw error
            } catch var error as S3Error {
                error.request = shown
                // A body streamed to a sink cannot be taken back: the caller retries whole.
                guard error.isTransient, attempt < attempts, sink == nil else { throw error }
                usleep(useconds_t(backoff * pow(2, Double(attempt - 1)) * 1_000_000))
            }
        }
    }
}
