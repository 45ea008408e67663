import CCrypto

/// SHA-256 over bytes that arrive in pieces (a backup's tree record, spooled as it is written).
/// The one owner of its OpenSSL digest context.
public final class SHA256Stream {
    private let context: OpaquePointer

    public init() {
        // Allocation fails only when malloc does; the process could not go on either way.
        context = EVP_MD_CTX_new()!
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        EVP_DigestUpdate(context, base, bytes.count)
    }

    /// The digest as lowercase hex; the stream starts over afterwards.
    public func finishHex() -> String {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 32
        EVP_DigestFinal_ex(context, &out, &length)
        EVP_DigestInit_ex(context, EVP_sha256(), nil)
        return Digest.hex(out)
    }
}
