import Foundation

/// Credentials, region and endpoint, read the way the AWS CLI, rclone and restic read them:
/// the environment first (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
/// `AWS_REGION` or `AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL`), then the profile `AWS_PROFILE`
/// (or `default`) of `~/.aws/credentials` and `~/.aws/config` (`AWS_SHARED_CREDENTIALS_FILE`,
/// `AWS_CONFIG_FILE`). Never from the command line, where `ps` shows it to every user.
public struct S3Settings: Sendable {
    public var accessKey: String
    public var secretKey: String
    public var sessionToken: String?
    public var region: String
    /// `http(s)://host[:port]` of an S3-compatible store; nil for AWS itself.
    public var endpoint: String?
    /// Bucket in the path (`host/bucket/key`), as S3-compatible stores want; virtual-hosted
    /// (`bucket.host/key`) for AWS.
    public var pathStyle: Bool
    /// How the objects written are encrypted at rest (and so how they are read back).
    public var encryption: S3Encryption?
    /// PEM certificates to trust instead of the system's CA store (`AWS_CA_BUNDLE`).
    public var caBundle: String?

    public init(accessKey: String, secretKey: String, sessionToken: String? = nil, region: String = "us-east-1",
                endpoint: String? = nil, pathStyle: Bool? = nil) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.sessionToken = sessionToken
        self.region = region
        self.endpoint = endpoint.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.pathStyle = pathStyle ?? (endpoint != nil)
    }

    /// Reads the settings; `endpoint` (from `--endpoint`) wins over the environment's.
    /// - Throws: ``S3Error/settings`` naming what is missing.
    public static func load(environment env: [String: String] = ProcessInfo.processInfo.environment,
                            endpoint override: String? = nil) throws -> S3Settings {
        let home = env["HOME"] ?? NSHomeDirectory()
        let profile = env["AWS_PROFILE"] ?? "default"
        let credentials = INIFile.read(env["AWS_SHARED_CREDENTIALS_FILE"] ?? home + "/.aws/credentials")
        let config = INIFile.read(env["AWS_CONFIG_FILE"] ?? home + "/.aws/config")
        let fromCredentials = credentials[profile] ?? [:]
        let fromConfig = config[profile == "default" ? "default" : "profile " + profile] ?? [:]
        func value(_ envName: String, _ key: String) -> String? {
            if let v = env[envName], !v.isEmpty { return v }
            return fromCredentials[key] ?? fromConfig[key]
        }
        guard let access = value("AWS_ACCESS_KEY_ID", "aws_access_key_id"),
              let secret = value("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key") else {
            throw S3Error(.settings("no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give a profile in ~/.aws/credentials (AWS_PROFILE=\(profile))"))
        }
        let region = env["AWS_REGION"].flatMap { $0.isEmpty ? nil : $0 } ?? value("AWS_DEFAULT_REGION", "region") ?? "us-east-1"
        let endpoint = override ?? value("AWS_ENDPOINT_URL", "endpoint_url")
        if let e = endpoint, !(e.hasPrefix("http://") || e.hasPrefix("https://")) {
            throw S3Error(.settings("the endpoint '\(e)' is not an http:// or https:// URL"))
        }
        // The AWS CLI's `s3 = addressing_style = path|virtual|auto` (the nested key reads as a
        // key of the profile here); auto is path-style with an endpoint, virtual without.
        let style = fromConfig["addressing_style"]?.lowercased()
        if let style, !["path", "virtual", "auto"].contains(style) {
            throw S3Error(.settings("addressing_style is path, virtual or auto, not '\(style)'"))
        }
        var settings = S3Settings(accessKey: access, secretKey: secret, sessionToken: value("AWS_SESSION_TOKEN", "aws_session_token"),
                                  region: region, endpoint: endpoint,
                                  pathStyle: style == "path" ? true : style == "virtual" ? false : nil)
        settings.caBundle = value("AWS_CA_BUNDLE", "ca_bundle")
        if let bundle = settings.caBundle, !FileManager.default.isReadableFile(atPath: bundle) {
            throw S3Error(.settings("the CA bundle \(bundle) (AWS_CA_BUNDLE) cannot be read"))
        }
        return settings
    }
}

/// The INI files of the AWS tools: `[section]` lines and `key = value` lines; `#` and `;`
/// start comments. A missing or unreadable file is empty.
enum INIFile {
    static func read(_ path: String) -> [String: [String: String]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        return parse(text)
    }

    static func parse(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") && line.hasSuffix("]") {
                current = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                continue
            }
            guard let name = current, let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            sections[name, default: [:]][key] = value
        }
        return sections
    }
}
