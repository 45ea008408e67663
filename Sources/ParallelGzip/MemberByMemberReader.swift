import SystemCalls

/// Reads a fastbackup gzip archive from one member on, inflating one member at a time and
/// only when its bytes are wanted: what a partial restore from an indexed archive needs is a
/// few members in the middle of a GB, and the parallel decompressor's read-ahead would read
/// several more. Each member must carry its sizes (``GzipMemberFormat``); its CRC-32 and
/// length are checked as usual. Memory: one member in, one out (each at most
/// ``GzipMemberFormat/parallelLimit``).
public final class MemberByMemberReader {
    private let fd: Int32
    private let path: String
    private var fileOffset: Int64
    private let decoder: MemberDecoder
    private var input: [UInt8] = []
    private var output: [UInt8] = []
    private var position = 0
    /// Members inflated so far.
    public private(set) var membersRead = 0

    /// `fd` stays the caller's; reading starts at the member that begins at `offset`.
    public init(fd: Int32, path: String, memberAt offset: Int64) throws {
        self.fd = fd
        self.path = path
        fileOffset = offset
        decoder = try MemberDecoder()
    }

    /// Up to `buffer.count` bytes of the decompressed stream; 0 at its end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if position == output.count {
            guard try inflateNext() else { return 0 }
        }
        let n = min(buffer.count, output.count - position)
        output.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + position, byteCount: n) }
        position += n
        return n
    }

    private func inflateNext() throws -> Bool {
        var probe = [UInt8](repeating: 0, count: GzipMemberFormat.headerLength)
        let got = try readFully(&probe, at: fileOffset)
        if got == 0 { return false }
        let header = probe.withUnsafeBytes { GzipMemberFormat.parseHeader(UnsafeRawBufferPointer(rebasing: $0[0..<got])) }
        guard case .valid(let headerLength, let sizes?) = header,
              sizes.member <= GzipMemberFormat.parallelLimit, sizes.uncompressed <= GzipMemberFormat.parallelLimit else {
            throw CompressionError(.badHeader, path: path, memberOffset: fileOffset, detail: "not a member with its sizes recorded")
        }
        input = [UInt8](repeating: 0, count: sizes.member)
        guard try readFully(&input, at: fileOffset) == sizes.member else {
            throw CompressionError(.truncated, path: path, memberOffset: fileOffset, detail: "the file ends inside this member")
        }
        output = [UInt8](repeating: 0, count: sizes.uncompressed)
        let offset = fileOffset
        try input.withUnsafeBytes { member in
            try output.withUnsafeMutableBytes { out in
                try decoder.inflateMember(member, headerLength: headerLength, into: out.baseAddress ?? UnsafeMutableRawPointer(bitPattern: 16)!,
                                          expected: sizes.uncompressed, path: path, offset: offset)
            }
        }
        fileOffset += Int64(sizes.member)
        position = 0
        membersRead += 1
        return true
    }

    private func readFully(_ bytes: inout [UInt8], at offset: Int64) throws -> Int {
        var filled = 0
        while filled < bytes.count {
            let n: Int
            do {
                n = try bytes.withUnsafeMutableBytes { try FileDescriptor(rawValue: fd).read(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...]), at: offset + Int64(filled)) }
            } catch {
                throw CompressionError(.io, path: path, errno: (error as? Errno)?.rawValue ?? 5 /* EIO */, detail: "read failed at byte offset \(offset + Int64(filled))")
            }
            if n == 0 { break }
            filled += n
        }
        return filled
    }
}
