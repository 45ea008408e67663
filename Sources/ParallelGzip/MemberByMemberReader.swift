import SystemCalls

/// Reads a fastbackup gzip archive from one member on, inflating one member at a time and
/// only when its bytes are wanted: what a partial restore from an indexed archive needs is a
/// few members in the middle of a GB, and the parallel decompressor's read-ahead would read
/// several more. Each member must carry its sizes (``GzipMemberFormat``); its CRC-32 and
/// length are checked as usual. Memory: one member in, one out (each at most
/// ``GzipMemberFormat/parallelLimit``), allocated once and reused, never zero-filled: fresh
/// zeroed arrays per member were most of the time it took to open a tree record.
public final class MemberByMemberReader {
    private let fd: Int32
    private let path: String
    private var fileOffset: Int64
    private let decoder: MemberDecoder
    private var input = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var output = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    /// Bytes of `output` the current member filled.
    private var outputCount = 0
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

    deinit {
        input.deallocate()
        output.deallocate()
    }

    private static func ensure(_ buffer: inout UnsafeMutableRawBufferPointer, _ count: Int) {
        guard buffer.count < count else { return }
        buffer.deallocate()
        buffer = .allocate(byteCount: count, alignment: 64)
    }

    /// Up to `buffer.count` bytes of the decompressed stream; 0 at its end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while position == outputCount {
            guard try inflateNext() else { return 0 }
        }
        let n = min(buffer.count, outputCount - position)
        buffer.baseAddress!.copyMemory(from: output.baseAddress! + position, byteCount: n)
        position += n
        return n
    }

    /// Passes over `count` bytes of the decompressed stream without copying them (the members
    /// are inflated and checked as usual); returns how many there were before the end.
    public func skip(_ count: Int64) throws -> Int64 {
        var left = count
        while left > 0 {
            if position == outputCount {
                guard try inflateNext() else { break }
                continue
            }
            let n = Int(min(Int64(outputCount - position), left))
            position += n
            left -= Int64(n)
        }
        return count - left
    }

    private func inflateNext() throws -> Bool {
        var probe = [UInt8](repeating: 0, count: GzipMemberFormat.headerLength)
        let got = try probe.withUnsafeMutableBytes { try readFully($0, at: fileOffset) }
        if got == 0 { return false }
        let header = probe.withUnsafeBytes { GzipMemberFormat.parseHeader(UnsafeRawBufferPointer(rebasing: $0[0..<got])) }
        guard case .valid(let headerLength, let sizes?) = header,
              sizes.member <= GzipMemberFormat.parallelLimit, sizes.uncompressed <= GzipMemberFormat.parallelLimit else {
            throw CompressionError(.badHeader, path: path, memberOffset: fileOffset, detail: "not a member with its sizes recorded")
        }
        Self.ensure(&input, sizes.member)
        let member = UnsafeMutableRawBufferPointer(rebasing: input[0..<sizes.member])
        guard try readFully(member, at: fileOffset) == sizes.member else {
            throw CompressionError(.truncated, path: path, memberOffset: fileOffset, detail: "the file ends inside this member")
        }
        Self.ensure(&output, max(sizes.uncompressed, 1))
        try decoder.inflateMember(UnsafeRawBufferPointer(member), headerLength: headerLength, into: output.baseAddress!,
                                  expected: sizes.uncompressed, path: path, offset: fileOffset)
        outputCount = sizes.uncompressed
        fileOffset += Int64(sizes.member)
        position = 0
        membersRead += 1
        return true
    }

    private func readFully(_ bytes: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        var filled = 0
        while filled < bytes.count {
            let n: Int
            do {
                n = try FileDescriptor(rawValue: fd).read(into: UnsafeMutableRawBufferPointer(rebasing: bytes[filled...]), at: offset + Int64(filled))
            } catch {
                throw CompressionError(.io, path: path, errno: (error as? Errno)?.rawValue ?? 5 /* EIO */, detail: "read failed at byte offset \(offset + Int64(filled))")
            }
            if n == 0 { break }
            filled += n
        }
        return filled
    }
}
