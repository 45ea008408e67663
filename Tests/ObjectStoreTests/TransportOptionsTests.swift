import Foundation
import TestSupport
import XCTest
@testable import ObjectStore

/// https (a private CA through AWS_CA_BUNDLE) and virtual-hosted addressing against the real
/// gateway, which scripts/ceph-rgw.sh starts with a self-signed certificate for localhost and
/// `rgw_dns_name = localhost`; and how the settings choose them. The live cases skip, saying
/// so, without FASTBACKUP_TEST_S3_TLS_ENDPOINT.
final class TransportOptionsTests: XCTestCase {
    private struct Live {
        let http: String, https: String, caBundle: String, key: String, secret: String
    }

    private func live() throws -> Live {
        let env = ProcessInfo.processInfo.environment
        guard let http = env["FASTBACKUP_TEST_S3_ENDPOINT"], let https = env["FASTBACKUP_TEST_S3_TLS_ENDPOINT"],
              let ca = env["FASTBACKUP_TEST_S3_CA_BUNDLE"], let key = env["AWS_ACCESS_KEY_ID"],
              let secret = env["AWS_SECRET_ACCESS_KEY"] else {
            throw XCTSkip("no https object store: FASTBACKUP_TEST_S3_TLS_ENDPOINT is not set (scripts/test.sh sets it)")
        }
        return Live(http: http, https: https, caBundle: ca, key: key, secret: secret)
    }

    /// One object up and down, and listed: what a backup and its rollback need.
    private func roundTrip(_ s: S3Settings) throws {
        let client = try S3Client(settings: s)
        let bucket = "fbtls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try client.createBucket(bucket)
        var rng = SeededRandom(seed: 7)
        let bytes = rng.bytes(300_000)
        try bytes.withUnsafeBytes { try client.put(bucket, "a/b.bin", body: $0) }
        var back: [UInt8] = []
        try client.get(bucket, "a/b.bin", range: 0..<Int64(bytes.count)) { back += $0; return true }
        XCTAssertEqual(back, bytes)
        XCTAssertEqual(try client.list(bucket, prefix: "a/").map(\.key), ["a/b.bin"])
        try client.delete(bucket, "a/b.bin")
    }

    func testHTTPSWithAPrivateCA() throws {
        let l = try live()
        var s = S3Settings(accessKey: l.key, secretKey: l.secret, region: "default", endpoint: l.https)
        s.caBundle = l.caBundle
        try roundTrip(s)
    }

    /// Without the CA the certificate is refused at once, named as such, and not retried.
    func testUntrustedCertificateFailsAtOnce() throws {
        let l = try live()
        let s = S3Settings(accessKey: l.key, secretKey: l.secret, region: "default", endpoint: l.https)
        let started = Date()
        XCTAssertThrowsError(try S3Client(settings: s).createBucket("fbtls-untrusted")) { error in
            guard let e = error as? S3Error, case .tls = e.kind else { return XCTFail("\(error)") }
            XCTAssertTrue("\(e)".contains("AWS_CA_BUNDLE"), "\(e)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 2, "a certificate error was retried")
    }

    /// `http://BUCKET.s3.localhost:PORT/KEY`, over http and over https.
    func testVirtualHostedAddressing() throws {
        let l = try live()
        let port = l.http.split(separator: ":").last!
        let s = S3Settings(accessKey: l.key, secretKey: l.secret, region: "default", endpoint: "http://s3.localhost:\(port)", pathStyle: false)
        XCTAssertEqual(try S3Client(settings: s).url("bkt", "k/x"), "http://bkt.s3.localhost:\(port)/k/x")
        try roundTrip(s)
        var tls = S3Settings(accessKey: l.key, secretKey: l.secret, region: "default", endpoint: l.https, pathStyle: false)
        tls.caBundle = l.caBundle
        try roundTrip(tls)
    }

    /// The AWS CLI's nested `s3 = addressing_style = ...` and `ca_bundle` in ~/.aws/config;
    /// AWS_CA_BUNDLE wins over the file; a bundle that cannot be read, or an unknown style, is
    /// refused with the setting named.
    func testSettingsChooseAddressingAndCABundle() throws {
        let dir = try TemporaryFolder("s3-settings")
        let config = dir.path + "/config"
        try "[default]\nregion = default\nca_bundle = /etc/hostname\ns3 =\n    addressing_style = virtual\n"
            .write(toFile: config, atomically: false, encoding: .utf8)
        let env = ["AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_CONFIG_FILE": config, "HOME": dir.path,
                   "AWS_ENDPOINT_URL": "http://localhost:1"]
        let s = try S3Settings.load(environment: env)
        XCTAssertFalse(s.pathStyle)
        XCTAssertEqual(s.caBundle, "/etc/hostname")
        XCTAssertTrue(try S3Settings.load(environment: env.filter { $0.key != "AWS_CONFIG_FILE" }).pathStyle)
        XCTAssertEqual(try S3Settings.load(environment: env.merging(["AWS_CA_BUNDLE": "/etc/passwd"]) { $1 }).caBundle, "/etc/passwd")
        XCTAssertThrowsError(try S3Settings.load(environment: env.merging(["AWS_CA_BUNDLE": "/nonexistent.pem"]) { $1 })) {
            XCTAssertTrue("\($0)".contains("/nonexistent.pem"), "\($0)")
        }
        try "[default]\ns3 =\n    addressing_style = sideways\n".write(toFile: config, atomically: false, encoding: .utf8)
        XCTAssertThrowsError(try S3Settings.load(environment: env)) { XCTAssertTrue("\($0)".contains("addressing_style"), "\($0)") }
    }
}
