#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `TarWriter.writeBody(fromFileDescriptor:path:)` found while copying a file.
public enum BodyCopyResult: Hashable, Sendable {
    /// Exactly `size` bytes were copied and the file ended there.
    case complete
    /// The file ended after `read` bytes, before the header's size; the rest of the body was
    /// filled with zeros so the archive stays valid (the file shrank while being archived).
    case shrank(read: Int64)
    /// `size` bytes were copied but the file has more; the extra bytes were not archived
    /// (the file grew while being archived).
    case grew
}

/// Writes a tar stream entry by entry, never holding more than one bounded buffer.
///
/// Call `writeHeader`, then the body (`writeBody` as often as needed, or
/// `writeBody(fromFileDescriptor:path:)` once) for regular files, and `finish()` at the end.
/// The format of each header is chosen by the writer (see `TarFormat`): plain ustar when the
/// header fits, ustar plus a pax record otherwise.
///
/// Output is staged in one 1 MiB buffer and reaches the sink in large writes; everything is
/// in the sink once `finish()` returns (or after `flush()`).
///
/// Errors: usage errors (`previousBodyIncomplete`, `bodyTooLong`, `unrepresentable`) leave
/// the writer usable. An error thrown by the sink is sticky: every later call throws it
/// again, because the stream is now incomplete. After `finish()` every call throws
/// `.writerFinished`.
public final class TarWriter {
    /// Capacity of the staging buffer, which is also the largest single read from a file.
    public static let bufferCapacity = 1 << 20

    private let sink: TarByteSink
    private let buffer: UnsafeMutableRawBufferPointer
    private var filled = 0
    /// Bytes handed on so far, staged or written: the stream offset of the next byte.
    private var streamOffset: Int64 = 0
    private var current: TarHeader?
    private var bodyRemaining: Int64 = 0
    private var pendingPadding = 0
    private var finished = false
    private var stickyError: Error?

    /// A writer sending its bytes to `sink`. The sink is not closed by the writer.
    public init(sink: TarByteSink) {
        self.sink = sink
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: TarWriter.bufferCapacity, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// Bytes of the tar stream produced so far (the offset of the next byte).
    public var offset: Int64 { streamOffset }

    /// Told of every entry as its header is written: the stream offset where the entry starts
    /// (its extension headers included, after the previous body's padding) and its name. An
    /// archive index is built from it.
    public var entryObserver: ((_ offset: Int64, _ name: TarPath) -> Void)?

    /// Starts a new entry: pads the previous body to a block boundary, then writes the
    /// header (preceded by a pax header when ustar cannot hold it, see `TarFormat`).
    ///
    /// Only `.regular` and `.other` kinds take a body of `header.size` bytes; for the other
    /// kinds the size is written as 0 and no body is expected.
    /// - Throws: `TarError` `.previousBodyIncomplete` when the previous body is short,
    ///   `.unrepresentable` for a header no format can hold (empty name, NUL bytes in a name,
    ///   negative numbers, ids beyond 2^32-1, mode beyond 0o7777, device numbers beyond 2^21,
    ///   the type flags `x`, `g`, `L`, `K` reserved for extension headers), sink errors.
    public func writeHeader(_ header: TarHeader) throws {
        try checkUsable()
        if bodyRemaining > 0 {
            throw TarError(.previousBodyIncomplete(remaining: bodyRemaining), entry: current?.name, offset: streamOffset)
        }
        try validate(header)
        var header = header
        if header.kind.isHeaderOnly { header.size = 0 }
        // A folder's name ends in `/`, as GNU tar, bsdtar, Python's tarfile and Go write it:
        // scripts that read `tar -t` tell folders by the slash.
        if header.kind == .directory, header.name.bytes.last != UInt8(ascii: "/") { header.name.bytes.append(UInt8(ascii: "/")) }

        entryObserver?(streamOffset + Int64(pendingPadding), header.name)
        let reasons = TarFormat.extensionReasons(for: header)
        try guarded {
            try appendZeros(pendingPadding)
            pendingPadding = 0
            if !reasons.isEmpty { try appendPAXHeader(for: header, reasons: reasons) }
            try append(block: ustarBlock(for: header, reasons: reasons))
        }
        current = header
        bodyRemaining = header.size
        pendingPadding = Int(tarPadding(header.size))
    }

    /// Appends bytes to the current entry's body.
    /// - Throws: `TarError.bodyTooLong` (nothing written) when `bytes` exceed what the header's
    ///   size leaves, sticky sink errors, `.writerFinished`.
    public func writeBody(_ bytes: UnsafeRawBufferPointer) throws {
        try checkUsable()
        guard bytes.count > 0 else { return }
        guard Int64(bytes.count) <= bodyRemaining else {
            throw TarError(.bodyTooLong(size: current?.size ?? 0, attempted: Int64(bytes.count) - bodyRemaining + (current?.size ?? 0)),
                           entry: current?.name, offset: streamOffset)
        }
        try guarded { try append(bytes) }
        bodyRemaining -= Int64(bytes.count)
    }

    /// Copies the current regular file's body from an open descriptor: exactly `header.size`
    /// bytes, read in chunks of at most `bufferCapacity` into the writer's own buffer.
    ///
    /// If the file ends early the body is zero-padded and `.shrank(read:)` is returned; if
    /// the file has more bytes than the size, copying stops and `.grew` is returned. The
    /// descriptor's position advances; it is not closed.
    /// If part of the body was already written with `writeBody(_:)`, only the rest is copied.
    /// - Throws: `TarError` `.io(operation: "read")` with errno, `path`, entry and offset (sticky:
    ///   the entry's body is incomplete, so the stream cannot be continued), sink errors.
    public func writeBody(fromFileDescriptor fd: Int32, path: String) throws -> BodyCopyResult {
        try checkUsable()
        let size = current?.size ?? 0
        var result = BodyCopyResult.complete
        try guarded {
            var copied = size - bodyRemaining
            while true {
                // Ask for one byte more than the body still needs: the read that finds the
                // end of the file is the same one that would reveal a file that grew.
                let wanted = min(Int64(TarWriter.bufferCapacity), bodyRemaining + 1)
                if TarWriter.bufferCapacity - filled < Int(wanted) { try flushBuffer() }
                let room = min(Int(wanted), TarWriter.bufferCapacity - filled)
                let n: Int
                do {
                    n = try readOnce(fd: fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<(filled + room)]), path: path)
                } catch var error as TarError {
                    error.entry = current?.name
                    error.offset = streamOffset
                    throw error
                }
                if n == 0 { break }
                let useful = Int(min(Int64(n), bodyRemaining))
                filled += useful
                streamOffset += Int64(useful)
                bodyRemaining -= Int64(useful)
                copied += Int64(useful)
                if n > useful {
                    result = .grew
                    break
                }
            }
            if bodyRemaining > 0 {
                result = .shrank(read: copied)
                try appendZeros(Int(exactly: bodyRemaining) ?? Int.max)
                bodyRemaining = 0
            }
        }
        return result
    }

    /// Sends everything staged so far to the sink.
    /// - Throws: sticky sink errors, `.writerFinished`.
    public func flush() throws {
        try checkUsable()
        try guarded { try flushBuffer() }
    }

    /// Ends the archive: pads the last body, writes two zero blocks and flushes. No record
    /// padding to 10240 bytes is added (see `TarFormat`). Later calls to any method throw
    /// `.writerFinished`.
    /// - Throws: `.previousBodyIncomplete` when the last body is short, sink errors.
    public func finish() throws {
        try checkUsable()
        if bodyRemaining > 0 {
            throw TarError(.previousBodyIncomplete(remaining: bodyRemaining), entry: current?.name, offset: streamOffset)
        }
        try guarded {
            try appendZeros(pendingPadding + 2 * tarBlockSize)
            pendingPadding = 0
            try flushBuffer()
        }
        finished = true
    }

    // MARK: - Header encoding

    private func validate(_ h: TarHeader) throws {
        func refuse(_ why: String) -> TarError { TarError(.unrepresentable(why), entry: h.name, offset: streamOffset) }
        if h.name.isEmpty { throw refuse("empty name") }
        if h.name.bytes.contains(0) { throw refuse("name contains a NUL byte") }
        if h.linkName.bytes.contains(0) { throw refuse("link target contains a NUL byte") }
        if h.userName.utf8.contains(0) || h.groupName.utf8.contains(0) { throw refuse("owner name contains a NUL byte") }
        if h.mode & ~0o7777 != 0 { throw refuse("mode \(String(h.mode, radix: 8)) has bits beyond 07777") }
        if h.uid < 0 || h.gid < 0 { throw refuse("negative uid or gid") }
        // pax could carry more, but uid_t is 32 bits and GNU tar rejects larger ids.
        if h.uid > Int(UInt32.max) || h.gid > Int(UInt32.max) { throw refuse("uid or gid beyond 2^32-1") }
        if h.kind.isHeaderOnly == false && h.size < 0 { throw refuse("negative size") }
        if h.modificationTime.nanoseconds < 0 || h.modificationTime.nanoseconds >= 1_000_000_000 { throw refuse("nanoseconds out of range") }
        if (h.kind == .hardLink || h.kind == .symbolicLink) && h.linkName.isEmpty { throw refuse("link without a target") }
        if h.kind == .characterDevice || h.kind == .blockDevice {
            if h.devMajor < 0 || h.devMinor < 0 || h.devMajor > TarFormat.maxUSTARDevice || h.devMinor > TarFormat.maxUSTARDevice {
                throw refuse("device number beyond ustar's 7 octal digits")
            }
        }
        if case .other(let flag) = h.kind, [UInt8]("xgLK".utf8).contains(flag) || flag == 0 {
            throw refuse("type flag \(flag) is reserved for extension headers")
        }
    }

    /// The ustar block; fields carried by pax records get a harmless stand-in.
    private func ustarBlock(for h: TarHeader, reasons: [TarFormat.ExtensionReason]) -> TarBlock {
        let viaPAX = Set(reasons.map(\.key))
        var b = TarBlock()
        if let split = TarFormat.splitUSTARName(h.name.bytes) {
            b.storeBytes(split.name, TarBlock.Field.name)
            b.storeBytes(split.prefix, TarBlock.Field.prefix)
        } else {
            b.storeBytes(h.name.bytes, TarBlock.Field.name)
        }
        b.storeOctal(Int64(h.mode), TarBlock.Field.mode)
        b.storeOctal(viaPAX.contains(PAXRecords.Key.uid) ? 0 : Int64(h.uid), TarBlock.Field.uid)
        b.storeOctal(viaPAX.contains(PAXRecords.Key.gid) ? 0 : Int64(h.gid), TarBlock.Field.gid)
        b.storeOctal(viaPAX.contains(PAXRecords.Key.size) ? 0 : h.size, TarBlock.Field.size)
        let seconds = h.modificationTime.seconds
        b.storeOctal(min(max(seconds, 0), TarFormat.maxUSTARTime), TarBlock.Field.mtime)
        b.bytes[TarBlock.Field.typeFlag] = h.kind.typeFlag
        b.storeBytes(h.linkName.bytes, TarBlock.Field.linkName)
        b.storeBytes("ustar\0".utf8, TarBlock.Field.magic)
        b.storeBytes("00".utf8, TarBlock.Field.version)
        if !viaPAX.contains(PAXRecords.Key.userName) { b.storeBytes(h.userName.utf8, TarBlock.Field.userName) }
        if !viaPAX.contains(PAXRecords.Key.groupName) { b.storeBytes(h.groupName.utf8, TarBlock.Field.groupName) }
        if h.kind == .characterDevice || h.kind == .blockDevice {
            b.storeOctal(Int64(h.devMajor), TarBlock.Field.devMajor)
            b.storeOctal(Int64(h.devMinor), TarBlock.Field.devMinor)
        }
        b.storeChecksum()
        return b
    }

    private func appendPAXHeader(for h: TarHeader, reasons: [TarFormat.ExtensionReason]) throws {
        var body: [UInt8] = []
        var binary = false
        for key in Set(reasons.map(\.key)).sorted() {
            switch key {
            case PAXRecords.Key.path:
                binary = binary || !h.name.isValidUTF8
                body += PAXRecords.encode(key: key, value: h.name.bytes)
            case PAXRecords.Key.linkPath:
                binary = binary || !h.linkName.isValidUTF8
                body += PAXRecords.encode(key: key, value: h.linkName.bytes)
            case PAXRecords.Key.size: body += PAXRecords.encode(key: key, value: Array(String(h.size).utf8))
            case PAXRecords.Key.uid: body += PAXRecords.encode(key: key, value: Array(String(h.uid).utf8))
            case PAXRecords.Key.gid: body += PAXRecords.encode(key: key, value: Array(String(h.gid).utf8))
            case PAXRecords.Key.mtime: body += PAXRecords.encode(key: key, value: Array(PAXRecords.formatTime(h.modificationTime).utf8))
            case PAXRecords.Key.userName: body += PAXRecords.encode(key: key, value: Array(h.userName.utf8))
            case PAXRecords.Key.groupName: body += PAXRecords.encode(key: key, value: Array(h.groupName.utf8))
            default: break
            }
        }
        // POSIX: hdrcharset must precede the records it qualifies.
        if binary { body = PAXRecords.encode(key: PAXRecords.Key.headerCharset, value: Array("BINARY".utf8)) + body }

        // The name of the 'x' entry itself only matters to readers without pax support;
        // follow Go and GNU tar: "<dir>/PaxHeaders.0/<base>", cut to fit ustar.
        let name = h.name.bytes
        let trimmed = name.last == UInt8(ascii: "/") ? name.dropLast() : name[...]
        let slash = trimmed.lastIndex(of: UInt8(ascii: "/"))
        let dir = slash.map { Array(trimmed[..<$0]) + [UInt8(ascii: "/")] } ?? []
        let base = slash.map { Array(trimmed[($0 + 1)...]) } ?? Array(trimmed)
        var paxName = Array((dir + Array("PaxHeaders.0/".utf8) + base).prefix(TarBlock.Field.name.count))
        if paxName.isEmpty { paxName = Array("PaxHeaders.0".utf8) }

        var b = TarBlock()
        b.storeBytes(paxName, TarBlock.Field.name)
        b.storeOctal(Int64(h.mode), TarBlock.Field.mode)
        b.storeOctal(0, TarBlock.Field.uid)
        b.storeOctal(0, TarBlock.Field.gid)
        b.storeOctal(Int64(body.count), TarBlock.Field.size)
        b.storeOctal(min(max(h.modificationTime.seconds, 0), TarFormat.maxUSTARTime), TarBlock.Field.mtime)
        b.bytes[TarBlock.Field.typeFlag] = UInt8(ascii: "x")
        b.storeBytes("ustar\0".utf8, TarBlock.Field.magic)
        b.storeBytes("00".utf8, TarBlock.Field.version)
        b.storeChecksum()
        try append(block: b)
        try body.withUnsafeBytes { try append($0) }
        try appendZeros(Int(tarPadding(Int64(body.count))))
    }

    // MARK: - Staging buffer

    private func checkUsable() throws {
        if let stickyError { throw stickyError }
        if finished { throw TarError(.writerFinished, offset: streamOffset) }
    }

    /// Runs `body`; any failure inside leaves the stream incomplete, so it becomes sticky.
    private func guarded(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch {
            stickyError = error
            throw error
        }
    }

    private func append(block: TarBlock) throws {
        try block.bytes.withUnsafeBytes { try append($0) }
    }

    private func append(_ bytes: UnsafeRawBufferPointer) throws {
        var rest = bytes
        while rest.count > 0 {
            if rest.count >= TarWriter.bufferCapacity {
                // Large body chunks go straight to the sink; staging them would only copy.
                try flushBuffer()
                try sink.write(rest)
                streamOffset += Int64(rest.count)
                return
            }
            let n = min(rest.count, TarWriter.bufferCapacity - filled)
            (buffer.baseAddress! + filled).copyMemory(from: rest.baseAddress!, byteCount: n)
            filled += n
            streamOffset += Int64(n)
            rest = UnsafeRawBufferPointer(rebasing: rest[n...])
            if filled == TarWriter.bufferCapacity { try flushBuffer() }
        }
    }

    private func appendZeros(_ count: Int) throws {
        var left = count
        while left > 0 {
            let n = min(left, TarWriter.bufferCapacity - filled)
            memset(buffer.baseAddress! + filled, 0, n)
            filled += n
            streamOffset += Int64(n)
            left -= n
            if filled == TarWriter.bufferCapacity { try flushBuffer() }
        }
    }

    private func flushBuffer() throws {
        guard filled > 0 else { return }
        try sink.write(UnsafeRawBufferPointer(rebasing: buffer[0..<filled]))
        filled = 0
    }
}
