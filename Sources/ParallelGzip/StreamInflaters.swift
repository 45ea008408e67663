import CZlib
import CZstd

/// Owner of a zlib `z_stream` set up for gzip (windowBits 31), used to inflate members that carry no
/// size subfield, one member at a time. zlib checks each member's CRC-32 and ISIZE itself.
final class ZlibGzipInflater {
    let stream: UnsafeMutablePointer<z_stream>

    init() throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let rc = czlib_inflateInit2(stream, 31)
        if rc != Z_OK {
            stream.deallocate()
            throw CompressionError(.engine, path: "", detail: "inflateInit2 failed (\(rc))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    func reset() { inflateReset(stream) }
}

/// Owner of a `ZSTD_DCtx` used both for whole frames (``decodeFrame``) and streaming (foreign frames).
final class ZstdDecoder {
    let ctx: OpaquePointer

    init() throws {
        guard let c = ZSTD_createDCtx() else { throw CompressionError(.engine, path: "", detail: "ZSTD_createDCtx failed") }
        ctx = c
    }

    deinit { ZSTD_freeDCtx(ctx) }

    func reset() { ZSTD_DCtx_reset(ctx, ZSTD_reset_session_only) }
}

/// Maps a zstd error code to an error kind.
func zstdErrorKind(_ r: Int) -> CompressionError.Kind {
    ZSTD_getErrorCode(r) == ZSTD_error_checksum_wrong ? .crcMismatch : .corruptData
}

func zstdErrorName(_ r: Int) -> String { String(cString: ZSTD_getErrorName(r)) }
