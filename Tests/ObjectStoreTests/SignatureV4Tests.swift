import Foundation
import XCTest
@testable import ObjectStore

/// Signature V4 against AWS's published example, and the parsing of locations and of the
/// AWS tools' INI files. No store needed.
final class SignatureV4Tests: XCTestCase {
    /// AWS's "Example: GET Object" (S3 API reference, "Signature Calculations for the
    /// Authorization Header"): GET /test.txt from examplebucket with Range: bytes=0-9 on
    /// 2013-05-24 00:00:00 UTC, empty payload; the page gives the signature.
    func testAWSExampleGetObject() {
        let settings = S3Settings(accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                  region: "us-east-1")
        let signer = SignatureV4(settings: settings)
        let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        let headers = signer.sign(method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt", query: [],
                                  headers: ["range": "bytes=0-9"], payloadHash: emptyHash,
                                  date: Date(timeIntervalSince1970: 1_369_353_600))
        XCTAssertEqual(headers["authorization"],
                       "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                       + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                       + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        XCTAssertEqual(headers["x-amz-date"], "20130524T000000Z")
    }

    func testQueryAndPathEncoding() {
        XCTAssertEqual(SignatureV4.canonicalQuery([("uploads", "")]), "uploads=")
        XCTAssertEqual(SignatureV4.canonicalQuery([("uploadId", "2~a/b"), ("partNumber", "3")]), "partNumber=3&uploadId=2~a%2Fb")
        XCTAssertEqual(SignatureV4.uriEncode("pre fix/1_db.sql", slash: false), "pre%20fix/1_db.sql")
        XCTAssertEqual(SignatureV4.uriEncode("é", slash: true), "%C3%A9")
    }

    func testLocations() {
        XCTAssertEqual(S3Location(url: "s3://bkt/a/b/"), S3Location(bucket: "bkt", prefix: "a/b"))
        XCTAssertEqual(S3Location(url: "s3://bkt"), S3Location(bucket: "bkt", prefix: ""))
        XCTAssertNil(S3Location(url: "s3:///x"))
        XCTAssertNil(S3Location(url: "/var/backups"))
        XCTAssertEqual(S3Location(bucket: "bkt", prefix: "").key("1_db.sql"), "1_db.sql")
        let (location, name) = S3Location.object("s3://bkt/shop/1_filesystem_media.tgz")!
        XCTAssertEqual(location, S3Location(bucket: "bkt", prefix: "shop"))
        XCTAssertEqual(name, "1_filesystem_media.tgz")
        XCTAssertNil(S3Location.object("s3://bkt"))
    }

    /// A profile from `~/.aws/credentials` and `~/.aws/config` (as `aws configure` writes
    /// them), the environment winning over both.
    func testSettingsFromProfileAndEnvironment() throws {
        let dir = NSTemporaryDirectory() + "aws-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "[default]\naws_access_key_id = AKDEFAULT\naws_secret_access_key = secret-default\n\n[shop]\naws_access_key_id=AKSHOP\naws_secret_access_key=secret shop\n"
            .write(toFile: dir + "/credentials", atomically: false, encoding: .utf8)
        try "[default]\nregion = eu-west-1\n[profile shop]\nregion = eu-central-1\nendpoint_url = http://127.0.0.1:9000\n# comment\n"
            .write(toFile: dir + "/config", atomically: false, encoding: .utf8)
        let files = ["AWS_SHARED_CREDENTIALS_FILE": dir + "/credentials", "AWS_CONFIG_FILE": dir + "/config", "HOME": dir]
        let plain = try S3Settings.load(environment: files)
        XCTAssertEqual(plain.accessKey, "AKDEFAULT")
        XCTAssertEqual(plain.region, "eu-west-1")
        XCTAssertNil(plain.endpoint)
        XCTAssertFalse(plain.pathStyle)
        let shop = try S3Settings.load(environment: files.merging(["AWS_PROFILE": "shop"]) { $1 })
        XCTAssertEqual(shop.accessKey, "AKSHOP")
        XCTAssertEqual(shop.secretKey, "secret shop")
        XCTAssertEqual(shop.region, "eu-central-1")
        XCTAssertEqual(shop.endpoint, "http://127.0.0.1:9000")
        XCTAssertTrue(shop.pathStyle)
        let env = try S3Settings.load(environment: files.merging(["AWS_ACCESS_KEY_ID": "AKENV", "AWS_SECRET_ACCESS_KEY": "s", "AWS_REGION": "ap-south-1"]) { $1 })
        XCTAssertEqual(env.accessKey, "AKENV")
        XCTAssertEqual(env.region, "ap-south-1")
        XCTAssertThrowsError(try S3Settings.load(environment: ["HOME": dir + "/none"])) { e in
            XCTAssertTrue("\(e)".contains("AWS_ACCESS_KEY_ID"), "\(e)")
        }
    }
}
