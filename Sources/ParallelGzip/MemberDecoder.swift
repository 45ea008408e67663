import CDeflate
import CISAL
import CZstd

/// One decompression worker's engines: libdeflate for whole gzip members, a zstd context for whole
/// frames. Owns both handles.
final class MemberDecoder {
    private let deflate: OpaquePointer
    private let zstd: ZstdDecoder

    init() throws {
        guard let d = libdeflate_alloc_decompressor() else {
            throw CompressionError(.engine, path: "", detail: "libdeflate_alloc_decompressor failed")
        }
        do { zstd = try ZstdDecoder() } catch { libdeflate_free_decompressor(d); throw error }
        deflate = d
    }

    deinit { libdeflate_free_decompressor(deflate) }

    /// Inflates one whole gzip member (`member`, header included, `headerLength` bytes of header) into
    /// `out`, which holds exactly the `expected` bytes its size subfield claims, and checks CRC-32 and
    /// ISIZE. Throws with the error's `memberOffset` left for the caller to fill.
    func inflateMember(_ member: UnsafeRawBufferPointer, headerLength: Int,
                       into out: UnsafeMutableRawPointer, expected: Int, path: String, offset: Int64) throws {
        let bodyLength = member.count - headerLength - GzipMemberFormat.trailerLength
        var inUsed = 0, outUsed = 0
        let r = libdeflate_deflate_decompress_ex(deflate, member.baseAddress! + headerLength, bodyLength,
                                                 out, expected, &inUsed, &outUsed)
        switch r {
        case LIBDEFLATE_SUCCESS: break
        case LIBDEFLATE_INSUFFICIENT_SPACE:
            throw CompressionError(.lengthMismatch, path: path, memberOffset: offset,
                                   detail: "member inflates to more than the \(expected) bytes its header claims")
        case LIBDEFLATE_SHORT_OUTPUT:
            throw CompressionError(.lengthMismatch, path: path, memberOffset: offset,
                                   detail: "member inflates to \(outUsed) bytes, its header claims \(expected)")
        default:
            throw CompressionError(.corruptData, path: path, memberOffset: offset, detail: "invalid deflate data")
        }
        // libdeflate 1.14 reports a short output as SUCCESS when asked for the length: the rest
        // of `out` would be an earlier member's bytes, so the count is checked here.
        if outUsed != expected {
            throw CompressionError(.lengthMismatch, path: path, memberOffset: offset,
                                   detail: "member inflates to \(outUsed) bytes, its header claims \(expected)")
        }
        if inUsed != bodyLength {
            throw CompressionError(.corruptData, path: path, memberOffset: offset,
                                   detail: "deflate data ends \(bodyLength - inUsed) bytes before the length the header claims")
        }
        let trailer = member.baseAddress! + member.count - 8
        let crc = expected == 0 ? 0 : crc32_gzip_refl(0, out.assumingMemoryBound(to: UInt8.self), UInt64(expected))
        let stored = loadLE32(trailer)
        if crc != stored {
            throw CompressionError(.crcMismatch, path: path, memberOffset: offset,
                                   detail: "CRC-32 is \(hex(crc)), trailer says \(hex(stored))")
        }
        let isize = loadLE32(trailer + 4)
        if isize != UInt32(truncatingIfNeeded: expected) {
            throw CompressionError(.lengthMismatch, path: path, memberOffset: offset,
                                   detail: "ISIZE is \(isize), data is \(expected) bytes")
        }
    }

    /// Decompresses one whole zstd frame into exactly `expected` bytes at `out`.
    func decodeFrame(_ frame: UnsafeRawBufferPointer, into out: UnsafeMutableRawPointer, expected: Int,
                     path: String, offset: Int64) throws {
        zstd.reset()
        let r = ZSTD_decompressDCtx(zstd.ctx, out, expected, frame.baseAddress, frame.count)
        if ZSTD_isError(r) != 0 {
            throw CompressionError(zstdErrorKind(r), path: path, memberOffset: offset, detail: zstdErrorName(r))
        }
        if r != expected {
            throw CompressionError(.lengthMismatch, path: path, memberOffset: offset,
                                   detail: "frame decompresses to \(r) bytes, its size frame claims \(expected)")
        }
    }
}

func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
