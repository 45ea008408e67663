import Foundation
import SystemCalls
import TestSupport
import ThreadKit
import XCTest
@testable import ObjectStore

/// Against the real object store the test script starts (a one-node Ceph cluster with the
/// RADOS Gateway on 127.0.0.1, scripts/ceph-rgw.sh): multipart uploads from a pipe, ranged
/// downloads into one, listings, unfinished uploads, and the errors a wrong key or a missing
/// bucket give. Skipped, saying so, when FASTBACKUP_TEST_S3_ENDPOINT is not set.
final class ObjectStoreLiveTests: XCTestCase {
    private func settings() throws -> S3Settings {
        let env = ProcessInfo.processInfo.environment
        guard let endpoint = env["FASTBACKUP_TEST_S3_ENDPOINT"], let key = env["AWS_ACCESS_KEY_ID"],
              let secret = env["AWS_SECRET_ACCESS_KEY"] else {
            throw XCTSkip("no object store: FASTBACKUP_TEST_S3_ENDPOINT is not set (scripts/test.sh starts one with scripts/ceph-rgw.sh)")
        }
        return S3Settings(accessKey: key, secretKey: secret, region: "default", endpoint: endpoint)
    }

    private func freshBucket(_ s: S3Settings) throws -> String {
        let name = "fbt-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try S3Client(settings: s).createBucket(name)
        return name
    }

    /// Writes `bytes` into the upload's pipe from another thread, as the compressor does.
    private func feed(_ upload: MultipartUpload, _ bytes: [UInt8]) throws {
        let done = DispatchGroup()
        try startThread(named: "test-feed", stackSize: ThreadStack.standard, group: done) {
            bytes.withUnsafeBytes { try? FileDescriptor(rawValue: upload.writeEnd).writeAll($0) }
            upload.closeWriting()
        }
        done.wait()
    }

    private func download(_ s: S3Settings, _ bucket: String, _ key: String, limits: RangedDownload.Limits = .init()) throws -> [UInt8] {
        let d = try RangedDownload(settings: s, bucket: bucket, key: key, limits: limits)
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try FileDescriptor(rawValue: d.readEnd).read(into: $0) }
            if n == 0 { break }
            out += buffer[0..<n]
        }
        close(d.readEnd)
        try d.finish()
        return out
    }

    /// 40 MiB plus a tail in 5 MiB parts (so the last is short) up, then down again by 3 MiB
    /// ranges: the same bytes, and the object listed with its size.
    func testUploadFromAPipeAndDownloadByRanges() throws {
        let s = try settings()
        let bucket = try freshBucket(s)
        var rng = SeededRandom(seed: 0xC0FFEE)
        let bytes = rng.bytes((40 << 20) + 12_345)
        var limits = MultipartUpload.Limits()
        limits.partSize = 5 << 20
        let upload = try MultipartUpload(settings: s, bucket: bucket, key: "shop/1_filesystem_media.tgz", limits: limits)
        try feed(upload, bytes)
        XCTAssertEqual(try upload.finish(), Int64(bytes.count))
        let client = try S3Client(settings: s)
        let listed = try client.list(bucket, prefix: "shop/")
        XCTAssertEqual(listed.map(\.key), ["shop/1_filesystem_media.tgz"])
        XCTAssertEqual(listed.first?.size, Int64(bytes.count))
        var ranges = RangedDownload.Limits()
        ranges.rangeSize = 3 << 20
        let back = try download(s, bucket, "shop/1_filesystem_media.tgz", limits: ranges)
        XCTAssertEqual(back.count, bytes.count)
        XCTAssertTrue(back == bytes, "the downloaded bytes differ")
        XCTAssertEqual(try client.pendingUploads(bucket, prefix: ""), [])
    }

    /// An empty stream is still an object (one empty part), and a download of it is empty.
    func testEmptyStream() throws {
        let s = try settings()
        let bucket = try freshBucket(s)
        let upload = try MultipartUpload(settings: s, bucket: bucket, key: "empty")
        try feed(upload, [])
        XCTAssertEqual(try upload.finish(), 0)
        XCTAssertEqual(try download(s, bucket, "empty"), [])
    }

    /// A cancelled upload leaves no object and no unfinished upload; one left unfinished (a
    /// run killed before it could abort) is listed until aborted.
    func testCancelLeavesNothingAndLeftoversAreListed() throws {
        let s = try settings()
        let bucket = try freshBucket(s)
        let upload = try MultipartUpload(settings: s, bucket: bucket, key: "1_db.sql")
        let bytes = [UInt8](repeating: 7, count: 6 << 20)
        bytes.withUnsafeBytes { _ = try? FileDescriptor(rawValue: upload.writeEnd).writeAll(UnsafeRawBufferPointer(rebasing: $0[0..<(1 << 20)])) }
        upload.cancel()
        let client = try S3Client(settings: s)
        XCTAssertEqual(try client.list(bucket, prefix: ""), [])
        XCTAssertEqual(try client.pendingUploads(bucket, prefix: ""), [])

        let id = try client.createUpload(bucket, "2_db.sql")
        let pending = try client.pendingUploads(bucket, prefix: "")
        XCTAssertEqual(pending.map(\.key), ["2_db.sql"])
        XCTAssertEqual(pending.first?.uploadID, id)
        try client.abortUpload(bucket, "2_db.sql", uploadID: id)
        XCTAssertEqual(try client.pendingUploads(bucket, prefix: ""), [])
    }

    func testWrongSecretAndMissingBucketSayWhatFailed() throws {
        var s = try settings()
        let client = try S3Client(settings: s)
        XCTAssertThrowsError(try client.list("no-such-bucket-\(getpid())", prefix: "")) { e in
            guard let e = e as? S3Error, case .status(404, let code, _) = e.kind else { return XCTFail("\(e)") }
            XCTAssertEqual(code, "NoSuchBucket")
            XCTAssertTrue(e.description.contains("create the bucket"), e.description)
        }
        s.secretKey += "x"
        XCTAssertThrowsError(try S3Client(settings: s).list("anything", prefix: "")) { e in
            guard let e = e as? S3Error, case .status(403, _, _) = e.kind else { return XCTFail("\(e)") }
            XCTAssertTrue(e.description.contains("AWS_SECRET_ACCESS_KEY"), e.description)
        }
        var unreachable = try settings()
        unreachable.endpoint = "http://127.0.0.1:1"
        let c = try S3Client(settings: unreachable)
        c.attempts = 2
        c.backoff = 0.01
        XCTAssertThrowsError(try c.list("anything", prefix: "")) { e in
            guard let e = e as? S3Error, case .transport = e.kind else { return XCTFail("\(e)") }
            XCTAssertTrue(e.description.contains("cannot reach the object store"), e.description)
        }
    }
}
