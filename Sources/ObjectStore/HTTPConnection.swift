import CCurl
import Foundation

/// One HTTP connection: a libcurl easy handle, owned here alone and used by one thread at a
/// time. It keeps its connection open between requests (keep-alive), so a worker uploading
/// part after part pays for one TCP (and TLS) set-up.
final class HTTPConnection {
    struct Response {
        var status: Int
        /// Header names in lower case.
        var headers: [String: String]
        /// The body, unless it went to the request's sink.
        var body: [UInt8]
    }

    /// Where a response body goes: return false to stop the transfer.
    typealias BodySink = (UnsafeRawBufferPointer) -> Bool

    private let handle: UnsafeMutableRawPointer
    private let curl: fb_curl_t
    /// PEM certificates to trust instead of the system's CA store.
    private let caBundle: String?
    /// libcurl's functions, loaded and initialised once, before any handle exists (a Swift
    /// static: one copy for the process, whatever inlines this class).
    private static let api: fb_curl_t? = fb_curl_load().map { fb_curl_t($0) }

    init(caBundle: String? = nil) throws {
        guard let api = Self.api else {
            throw S3Error(.settings("the object store needs libcurl, which is not installed: apt-get install libcurl4"))
        }
        guard let h = fb_curl_easy_init(api) else { throw S3Error(.transport("cannot create a libcurl handle")) }
        curl = api
        handle = h
        self.caBundle = caBundle
    }

    deinit { fb_curl_easy_cleanup(curl, handle) }

    /// Runs one request. `body` is sent as is (its bytes must stay valid for the call);
    /// the response body goes to `sink` when given (for downloads straight into a buffer),
    /// else into the response, at most `maxBody` bytes of it.
    func perform(method: String, url: String, headers: [String: String], body: UnsafeRawBufferPointer? = nil,
                 sink: BodySink? = nil, maxBody: Int = 4 << 20, timeout: Int = 300) throws -> Response {
        let context = TransferContext(body: body, sink: sink, maxBody: maxBody)
        fb_curl_easy_reset(curl, handle)
        var list: UnsafeMutablePointer<curl_slist>?
        defer { fb_curl_slist_free_all(curl, list) }
        for (k, v) in headers { list = fb_curl_slist_append(curl, list, "\(k): \(v)") }
        // libcurl adds "Expect: 100-continue" to large PUTs, a round trip per part for nothing.
        list = fb_curl_slist_append(curl, list, "Expect:")
        let unmanaged = Unmanaged.passUnretained(context).toOpaque()
        _ = fb_curl_set_string(curl, handle, CURLOPT_URL, url)
        _ = fb_curl_set_pointer(curl, handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(list))
        _ = fb_curl_set_long(curl, handle, CURLOPT_NOSIGNAL, 1)
        _ = fb_curl_set_long(curl, handle, CURLOPT_CONNECTTIMEOUT, 30)
        // A stalled transfer (under 1 KiB/s for 60 s) is a failure to retry, not a hang.
        _ = fb_curl_set_long(curl, handle, CURLOPT_LOW_SPEED_LIMIT, 1024)
        _ = fb_curl_set_long(curl, handle, CURLOPT_LOW_SPEED_TIME, 60)
        _ = fb_curl_set_long(curl, handle, CURLOPT_TIMEOUT, timeout)
        if let caBundle { _ = fb_curl_set_string(curl, handle, CURLOPT_CAINFO, caBundle) }
        _ = fb_curl_set_function(curl, handle, CURLOPT_WRITEFUNCTION, { ptr, size, count, user in
            let c = Unmanaged<TransferContext>.fromOpaque(user!).takeUnretainedValue()
            return c.received(UnsafeRawBufferPointer(start: ptr, count: size * count)) ? size * count : 0
        })
        _ = fb_curl_set_pointer(curl, handle, CURLOPT_WRITEDATA, unmanaged)
        _ = fb_curl_set_function(curl, handle, CURLOPT_HEADERFUNCTION, { ptr, size, count, user in
            let c = Unmanaged<TransferContext>.fromOpaque(user!).takeUnretainedValue()
            c.header(UnsafeRawBufferPointer(start: ptr, count: size * count))
            return size * count
        })
        _ = fb_curl_set_pointer(curl, handle, CURLOPT_HEADERDATA, unmanaged)
        switch method {
        case "GET": break
        case "HEAD": _ = fb_curl_set_long(curl, handle, CURLOPT_NOBODY, 1)
        case "PUT", "POST":
            let put = method == "PUT"
            _ = fb_curl_set_long(curl, handle, put ? CURLOPT_UPLOAD : CURLOPT_POST, 1)
            _ = fb_curl_set_off(curl, handle, put ? CURLOPT_INFILESIZE_LARGE : CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body?.count ?? 0))
            _ = fb_curl_set_function(curl, handle, CURLOPT_READFUNCTION, { ptr, size, count, user in
                Unmanaged<TransferContext>.fromOpaque(user!).takeUnretainedValue().send(into: ptr!, size * count)
            })
            _ = fb_curl_set_pointer(curl, handle, CURLOPT_READDATA, unmanaged)
        default:
            _ = fb_curl_set_string(curl, handle, CURLOPT_CUSTOMREQUEST, method)
        }
        let rc = fb_curl_easy_perform(curl, handle)
        if rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && context.stoppedBySink) {
            let why = String(cString: fb_curl_easy_strerror(curl, rc))
            // A certificate that is not trusted stays so: no retries.
            if rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE {
                throw S3Error(.tls(why + (caBundle.map { " (with the CA bundle \($0))" } ?? " (a private CA's certificate goes in AWS_CA_BUNDLE)")))
            }
            throw S3Error(.transport(why))
        }
        var status = 0
        _ = fb_curl_get_long(curl, handle, CURLINFO_RESPONSE_CODE, &status)
        return Response(status: status, headers: context.headers, body: context.bodyBytes)
    }
}

/// What the libcurl callbacks of one transfer read and write.
private final class TransferContext {
    let body: UnsafeRawBufferPointer?
    var sent = 0
    let sink: HTTPConnection.BodySink?
    let maxBody: Int
    var bodyBytes: [UInt8] = []
    var headers: [String: String] = [:]
    var stoppedBySink = false

    init(body: UnsafeRawBufferPointer?, sink: HTTPConnection.BodySink?, maxBody: Int) {
        self.body = body
        self.sink = sink
        self.maxBody = maxBody
    }

    func send(into out: UnsafeMutablePointer<CChar>, _ capacity: Int) -> Int {
        guard let body, sent < body.count else { return 0 }
        let n = min(capacity, body.count - sent)
        UnsafeMutableRawPointer(out).copyMemory(from: body.baseAddress! + sent, byteCount: n)
        sent += n
        return n
    }

    func received(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if let sink {
            if !sink(bytes) { stoppedBySink = true; return false }
            return true
        }
        // An error body is a few hundred bytes; anything past the cap is not one worth keeping.
        if bodyBytes.count + bytes.count <= maxBody { bodyBytes.append(contentsOf: bytes) }
        return true
    }

    func header(_ line: UnsafeRawBufferPointer) {
        let text = String(decoding: line, as: UTF8.self)
        if text.hasPrefix("HTTP/") { headers.removeAll() }   // a new response (after a 100, a redirect)
        guard let colon = text.firstIndex(of: ":") else { return }
        let name = text[..<colon].lowercased()
        headers[name] = text[text.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
