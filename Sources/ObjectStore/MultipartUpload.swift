import Foundation
import SystemCalls
import ThreadKit

/// Streams whatever is written into a pipe to one object, as a multipart upload whose parts
/// go up in parallel while the stream is still being produced.
///
/// Commit point: the object exists only once ``finish()`` has completed the upload; until
/// then the store holds an unfinished upload, which ``abort()`` (on any failure or signal)
/// removes, and which a run killed with SIGKILL leaves for the next one to find
/// (``S3Client/pendingUploads(_:prefix:)``).
///
/// Memory: `partsInFlight + 1` buffers of `partSize` bytes, allocated once (one being filled
/// from the pipe, the others uploading); with the defaults 4 × 16 MiB = 64 MiB. S3 allows
/// 10,000 parts, so one object holds at most 10,000 × `partSize` (156 GiB by default).
public final class MultipartUpload {
    public struct Limits: Sendable {
        public var partSize = 16 << 20
        public var partsInFlight = 3
        public init() {}
    }

    public let bucket: String
    public let key: String
    public let limits: Limits
    private let settings: S3Settings
    private let readEnd: Int32
    /// The end the producer writes to; closed by ``closeWriting()``.
    public let writeEnd: Int32
    private var uploadID = ""
    private let monitor = Monitor()
    private var etags: [Int: String] = [:]
    private var failure: Error?
    private var bytes: Int64 = 0
    private let done = DispatchGroup()
    private var writeEndClosed = false

    /// Begins the upload (so a refused key or bad credentials fail before any work) and the
    /// thread that reads the pipe.
    public init(settings: S3Settings, bucket: String, key: String, limits: Limits = Limits()) throws {
        self.settings = settings
        self.bucket = bucket
        self.key = key
        self.limits = limits
        let client = try S3Client(settings: settings)
        uploadID = try client.createUpload(bucket, key)
        do {
            (readEnd, writeEnd) = try transferPipe()
        } catch {
            try? client.abortUpload(bucket, key, uploadID: uploadID)
            throw error
        }
        do {
            try startThread(named: "s3-upload", stackSize: ThreadStack.standard, group: done) { [self] in pump(firstClient: client) }
        } catch {
            close(readEnd); close(writeEnd)
            try? client.abortUpload(bucket, key, uploadID: uploadID)
            throw error
        }
    }

    /// Closes the producer's end: the stream is complete (or abandoned). Idempotent.
    public func closeWriting() {
        monitor.withLock {
            if !writeEndClosed { close(writeEnd); writeEndClosed = true }
        }
    }

    /// The first failure of the transfer so far, if any: what a producer that saw its writes
    /// fail with EPIPE should report.
    public var failureSoFar: Error? { monitor.withLock { failure } }

    /// Waits for every part and completes the upload; the object then exists. Returns the
    /// bytes uploaded. On a failure the upload is aborted and the first error thrown.
    public func finish() throws -> Int64 {
        done.wait()
        if let failure = monitor.withLock({ failure }) {
            abort()
            throw failure
        }
        let client = try S3Client(settings: settings)
        let tags = monitor.withLock { (1...max(1, etags.count)).map { etags[$0] ?? "" } }
        do {
            try client.completeUpload(bucket, key, uploadID: uploadID, etags: tags)
        } catch {
            abort()
            throw error
        }
        return bytes
    }

    /// Stops the transfer and removes the unfinished upload: for a failed or interrupted
    /// backup. The producer's end is closed.
    public func cancel() {
        fail(S3Error(.cancelled))
        closeWriting()
        done.wait()
        abort()
    }

    /// Removes the unfinished upload (best effort: a store that cannot be reached keeps it
    /// until the next run lists it). Safe to call more than once and from a signal clean-up.
    public func abort() {
        guard let client = try? S3Client(settings: settings) else { return }
        client.attempts = 2
        try? client.abortUpload(bucket, key, uploadID: uploadID)
    }

    /// The reading thread: fills part buffers from the pipe and hands them to the uploaders.
    private func pump(firstClient: S3Client) {
        let buffers = BoundedQueue<UnsafeMutableRawBufferPointer>(capacity: limits.partsInFlight + 1)
        var all: [UnsafeMutableRawBufferPointer] = []
        for _ in 0...limits.partsInFlight {
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: limits.partSize, alignment: 4096)
            all.append(b)
            buffers.push(b)
        }
        let uploads = DispatchGroup()
        var number = 0
        let clients: BoundedQueue<S3Client>
        let pool: WorkerPool
        do {
            clients = try S3Client.pool(settings, first: firstClient, count: limits.partsInFlight)
            pool = try WorkerPool(threads: limits.partsInFlight, name: "s3-part")
        } catch {
            fail(error)
            close(readEnd)
            for b in all { b.deallocate() }
            return
        }
        defer { pool.shutdown() }
        defer {
            // The read end is this thread's alone. Closed at once, so a producer that writes
            // again after a failure gets EPIPE and stops instead of blocking on a full pipe.
            close(readEnd)
            uploads.wait()
            for b in all { b.deallocate() }
        }
        while monitor.withLock({ failure == nil }) {
            guard let buffer = buffers.pop() else { return }
            let filled: Int
            do {
                filled = try FileDescriptor(rawValue: readEnd).readFull(into: buffer)
            } catch {
                fail(S3Error(.transport("reading the stream to upload: \(error)")))
                return
            }
            if monitor.withLock({ failure != nil }) { return }
            if filled == 0 && number > 0 { return }   // the stream ended on a part boundary
            number += 1
            guard number <= 10_000 else {
                fail(S3Error(.protocolError("the stream is larger than 10,000 parts of \(limits.partSize >> 20) MiB")))
                return
            }
            bytes += Int64(filled)
            let part = number
            guard let client = clients.pop() else { return }
            uploads.enter()
            pool.submit { [self] in
                do {
                    let etag = try client.uploadPart(bucket, key, uploadID: uploadID, number: part,
                                                     body: UnsafeRawBufferPointer(rebasing: buffer[0..<filled]))
                    monitor.withLock { etags[part] = etag }
                } catch {
                    fail(error)
                }
                clients.push(client)
                buffers.push(buffer)
                uploads.leave()
            }
            if filled < buffer.count { return }   // end of stream
        }
    }

    private func fail(_ error: Error) {
        monitor.withLock { if failure == nil { failure = error } }
    }
}
