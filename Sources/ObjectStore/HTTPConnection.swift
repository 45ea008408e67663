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
    /// libcurl, loaded and initialised once, before any handle exists (thread-safe: a static).
    private static let loaded: Bool = fb_curl_load() != 0

    init() throws {
        guard Self.loaded else {
            throw S3Error(.settings("the object store needs libcurl, which is not installed: apt-get install libcurl4"))
        }
        guard let h = fb_curl_easy_init() else { throw S3Error(.transport("cannot create a libcurl handle")) }
        handle = h
    }

    deinit { fb_curl_easy_cleanup(handle) }

    /// Runs one request. `body` is sent as is (its bytes must stay valid for the call);
    /// the response body goes to `sink` when given (for downloads straight into a buffer),
    /// else into the response, at most `maxBody` bytes of it.
    func perform(method: String, url: String, headers: [String: String], body: UnsafeRawBufferPointer? = nil,
                 sink: BodySink? = nil, maxBody: Int = 4 << 20, timeout: Int = 300) throws -> Response {
        let context = TransferContext(body: body, sink: sink, maxBody: maxBody)
        fb_curl_easy_reset(handle)
        var list: UnsafeMutablePointer<curl_slist>?
        defer { fb_curl_slist_free_all(list) }
        for (k, v) in headers { list = fb_curl_slist_append(list, "\(k): \(v)") }
        // libcurl adds "Expect: 100-continue" to large PUTs, a round trip per part for nothing.
        list = fb_curl_slist_append(list, "Expect:")
        let unmanaged = Unmanaged.passUnretained(context).toOpaque()
        _ = fb_curl_set_string(handle, CURLOPT_URL, url)
        _ = fb_curl_set_pointer(handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(list))
        _ = fb_curl_set_long(handle, CURLOPT_NOSIGNAL, 1)
        _ = fb_curl_set_long(handle, CURLOPT_CONNECTTIMEOUT, 30)
        // A stalled transfer (under 1 KiB/s for 60 s) is a failure to retry, not a hang.
        _ = fb_curl_set_long(handle, CURLOPT_LOW_SPEED_LIMIT, 1024)
        _ = fb_curl_set_long(handle, CURLOPT_LOW_SPEED_TIME, 60)
        _ = fb_curl_set_long(handle, CURLOPT_TIMEOUT, timeout)
        _ = fb_curl_set_function(handle, CURLOPT_WRITEFUNCTION, { ptr, size, count, user in
            let c = Unmanaged<TransferContext>.fromOpaque(user!).takeUnretainedValue()
            return c.received(UnsafeRawBufferPointer(start: ptr, count: size * count)) ? size * count : 0
        })
        _ = fb_curl_set_pointer(handle, CURLOPT_WRITEDATA, unmanaged)
        _ = fb_curl_set_function(handle, CURLOPT_HEADERFUNCTION, { ptr, size, count, user in
            let c = Unmanaged<TransferContext>.fromOpaque(user!).takeUnretainedValue()
            c.header(UnsafeRawBufferPointer(start: ptr, count: size * count))
            return size * count
        })
        _ = fb_curl_set_pointer(handle, CURLOPT_HEADERDATA, unmanaged)
        switch method {
        case "GET": break
        case "HEAD": _ = fb_curl_set_long(handle, CURLOPT_NOBODY, 1)
        case "PUT", "POST":
            let put = method == "PUT"
            _ = fb_curl_set_long(handle, put ? CURLOPT_UPLOAD : CURLOPT_POST, 1)
            _ = fb_curl_set_off(handle, put ? CURLOPT_INFILESIZE_LARGE : CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body?.count ?? 0))
            _ = fb_curl_set_function(handle, CURLOPT_READFUNCTION, { ptr, size, count, user in
                Unmanaged<TransferContext>.fromOpaque(user!).takeUnretainedValue().send(into: ptr!, size * count)
            })
            _ = fb_curl_set_pointer(handle, CURLOPT_READDATA, unmanaged)
        default:
            _ = fb_curl_set_string(handle, CURLOPT_CUSTOMREQUEST, method)
        }
        let rc = fb_curl_easy_perform(handle)
        if rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && context.stoppedBySink) {
            throw S3Error(.transport(String(cString: fb_curl_easy_strerror(rc))))
        }
        var status = 0
        _ = fb_curl_get_long(handle, CURLINFO_RESPONSE_CODE, &status)
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
