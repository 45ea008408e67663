/// Reads a tar stream entry by entry, with each body streamed in caller-sized pieces.
///
/// Formats read: v7, ustar, pax (`x` local and `g` global headers: `path`, `linkpath`,
/// `size`, `mtime` with fractions, `uid`, `gid`, `uname`, `gname`; `hdrcharset` is accepted
/// and names are kept as raw bytes either way), GNU and old GNU (`"ustar  \0"` magic, long
/// names and link targets in `././@LongLink` `L`/`K` entries, base-256 numbers). GNU sparse
/// files are not expanded: both old `S` entries and pax `GNU.sparse.*` entries come back as
/// `.other(UInt8(ascii: "S"))` with their stored body (map and data fragments) as is.
///
/// Header checksums are verified against both the unsigned and the signed byte sum, as GNU
/// tar does. The archive ends, following Go's archive/tar, at:
/// 1. a clean end of stream at a header boundary,
/// 2. one zero block followed by the end of the stream, or
/// 3. two zero blocks (anything after them, such as GNU tar's record padding, is not read).
/// A zero block followed by a non-zero block is an error (`.dataAfterZeroBlock`).
///
/// Names and link targets are returned exactly as stored and are not sanitized: GNU tar
/// stores directories with a trailing `/`, archives may hold `./` prefixes, and a hostile
/// archive may hold absolute names or `..` components, which an extractor must refuse.
///
/// Memory is bounded: one 64 KiB read buffer, plus extension headers (pax records, GNU long
/// names) of at most `maximumExtensionSize` bytes for one entry together, and as much again
/// for global pax records; a larger claim is an error, never an allocation. Every error is a `TarError` naming the entry (when known) and the byte offset,
/// except errors thrown by the source itself, which pass through unchanged. Errors are sticky:
/// once a call throws, every later call throws the same error.
public final class TarReader {
    /// The most extension-header bytes (pax `x`, GNU `L`/`K`) accepted for one entry, and for
    /// the global pax records in force (1 MiB each).
    public static let maximumExtensionSize: Int64 = 1 << 20
    /// Size of the read buffer; larger `readBody` requests bypass it.
    public static let bufferCapacity = 64 << 10

    private let source: TarByteSource
    private let buffer: UnsafeMutableRawBufferPointer
    private var start = 0
    private var end = 0
    /// Stream offset of `buffer[start]`: bytes consumed so far.
    private var consumed: Int64 = 0
    private var current: TarHeader?
    private var bodyRemaining: Int64 = 0
    private var paddingRemaining: Int64 = 0
    private var globalRecords: [String: [UInt8]] = [:]
    private var globalRecordBytes: Int64 = 0
    private var ended = false
    private var stickyError: Error?

    /// The byte offset in the stream of the current entry's own header block (after any
    /// pax or GNU extension headers that precede it); 0 before the first `next()`.
    public private(set) var offset: Int64 = 0

    /// A reader pulling bytes from `source`.
    public init(source: TarByteSource) {
        self.source = source
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: TarReader.bufferCapacity, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The next entry's header, or nil at the end of the archive. Skips whatever is unread of
    /// the previous body and its padding, and folds extension headers into the entry they
    /// describe.
    /// - Throws: `TarError` (`.truncated`, `.badChecksum`, `.invalidNumber`, `.invalidPAXRecord`,
    ///   `.extensionTooLarge`, `.missingEntryAfterExtension`, `.dataAfterZeroBlock`) or the
    ///   source's own error.
    public func next() throws -> TarHeader? {
        if let stickyError { throw stickyError }
        do {
            return try readNextHeader()
        } catch {
            stickyError = error
            throw error
        }
    }

    /// Reads the next part of the current entry's body into `buffer`; returns the number of
    /// bytes read, 0 once the body is complete (or for entries without a body).
    /// - Throws: `TarError.truncated` when the stream ends inside the body, the source's errors.
    public func readBody(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if let stickyError { throw stickyError }
        guard bodyRemaining > 0, buffer.count > 0 else { return 0 }
        do {
            let wanted = Int(min(Int64(buffer.count), bodyRemaining))
            let n: Int
            if start == end && wanted >= TarReader.bufferCapacity {
                n = try readSource(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<wanted]))
                consumed += Int64(n)
            } else {
                if start == end { try refill() }
                n = min(wanted, end - start)
                if n > 0 {
                    buffer.baseAddress!.copyMemory(from: self.buffer.baseAddress! + start, byteCount: n)
                    start += n
                    consumed += Int64(n)
                }
            }
            if n == 0 { throw TarError(.truncated, entry: current?.name, offset: consumed) }
            bodyRemaining -= Int64(n)
            return n
        } catch {
            stickyError = error
            throw error
        }
    }

    // MARK: - Headers

    /// Extension headers (pax `x`, GNU `L` and `K`) read for the entry that follows them.
    private struct PendingExtensions {
        var records: [String: [UInt8]] = [:]
        var longName: [UInt8]?
        var longLink: [UInt8]?
        /// Body bytes of these headers together, against ``TarReader/maximumExtensionSize``.
        var bytes: Int64 = 0
        /// One was read and awaits its entry.
        var awaitingEntry = false
    }

    /// One header block as stored, its checksum verified: what the extension and merge steps
    /// read their fields from.
    private struct RawHeader {
        let block: TarBlock
        let offset: Int64
        let flag: UInt8
        /// The stored name (ustar prefix joined), before any long name or pax `path`.
        let storedName: [UInt8]
        /// The name errors cite: the GNU long name when one came before.
        let entryName: TarPath
        var parser: TarFieldParser
        let size: Int64

        var isExtension: Bool {
            flag == UInt8(ascii: "x") || flag == UInt8(ascii: "g") || flag == UInt8(ascii: "L") || flag == UInt8(ascii: "K")
        }
    }

    /// The three steps of Go's `Reader.Next`: a raw header block, the extension headers folded
    /// into pending records, then the entry's header merged from its block and those records.
    private func readNextHeader() throws -> TarHeader? {
        if ended { return nil }
        // Two skips: a body of Int64.max bytes plus its padding would overflow one sum.
        try skip(bodyRemaining, entry: current?.name)
        try skip(paddingRemaining, entry: current?.name)
        bodyRemaining = 0
        paddingRemaining = 0
        current = nil

        var pending = PendingExtensions()
        while true {
            guard let raw = try readRawHeader(pending) else {
                ended = true
                return nil
            }
            if raw.isExtension {
                try readExtension(raw, into: &pending)
                continue
            }
            let header = try merge(raw, pending)
            bodyRemaining = header.size
            paddingRemaining = tarPadding(header.size)
            current = header
            offset = raw.offset
            return header
        }
    }

    /// The next header block with its checksum verified, or nil at the archive's end (a clean
    /// end of stream, one zero block then the end, or two zero blocks).
    private func readRawHeader(_ pending: PendingExtensions) throws -> RawHeader? {
        let headerOffset = consumed
        guard let block = try readBlock() else {
            if pending.awaitingEntry { throw TarError(.missingEntryAfterExtension, offset: headerOffset) }
            return nil
        }
        if block.isZero {
            if pending.awaitingEntry { throw TarError(.missingEntryAfterExtension, offset: headerOffset) }
            let second = try readBlock()
            if second == nil || second!.isZero { return nil }
            throw TarError(.dataAfterZeroBlock, offset: headerOffset + Int64(tarBlockSize))
        }
        var name = block.string(TarBlock.Field.name)
        if block.flavor == .ustar {
            let prefix = block.string(TarBlock.Field.prefix)
            if !prefix.isEmpty { name = prefix + [UInt8(ascii: "/")] + name }
        }
        let entryName = TarPath(bytes: pending.longName ?? name)
        var parser = TarFieldParser(block)
        let stored = parser.number(TarBlock.Field.checksum, "checksum")
        let sums = block.checksums()
        if parser.firstError != nil || (stored != sums.unsigned && stored != sums.signed) {
            throw TarError(.badChecksum(stored: stored, unsigned: sums.unsigned, signed: sums.signed), entry: entryName, offset: headerOffset)
        }
        let size = parser.number(TarBlock.Field.size, "size")
        return RawHeader(block: block, offset: headerOffset, flag: block.bytes[TarBlock.Field.typeFlag],
                         storedName: name, entryName: entryName, parser: parser, size: size)
    }

    /// Reads an `x`, `g`, `L` or `K` header's body into `pending` (or, for `g`, into the
    /// global records kept across entries).
    private func readExtension(_ raw: RawHeader, into pending: inout PendingExtensions) throws {
        if let field = raw.parser.firstError { throw TarError(.invalidNumber(field: field), entry: raw.entryName, offset: raw.offset) }
        if raw.size < 0 { throw TarError(.invalidNumber(field: "size"), entry: raw.entryName, offset: raw.offset) }
        let global = raw.flag == UInt8(ascii: "g")
        // The limit holds for all extension headers of one entry together, and for the global
        // records kept across entries, so a run of them cannot grow memory either.
        let held = global ? globalRecordBytes : pending.bytes
        if raw.size > TarReader.maximumExtensionSize - held {
            throw TarError(.extensionTooLarge(size: raw.size + held, limit: TarReader.maximumExtensionSize), entry: raw.entryName, offset: raw.offset)
        }
        if !global { pending.bytes += raw.size }
        let body = try readExtensionBody(Int(raw.size), headerOffset: raw.offset)
        switch raw.flag {
        case UInt8(ascii: "L"):
            pending.longName = Array(body.prefix { $0 != 0 })
            pending.awaitingEntry = true
        case UInt8(ascii: "K"):
            pending.longLink = Array(body.prefix { $0 != 0 })
            pending.awaitingEntry = true
        default:
            let records: [(key: String, value: [UInt8])]
            do {
                records = try PAXRecords.decode(body)
            } catch var error as TarError {
                error.offset = raw.offset
                throw error
            }
            if global {
                // An empty global value removes the key (POSIX).
                for r in records { globalRecords[r.key] = r.value.isEmpty ? nil : r.value }
                globalRecordBytes = globalRecords.reduce(0) { $0 + Int64($1.key.utf8.count + $1.value.count) }
            } else {
                for r in records { pending.records[r.key] = r.value }
                pending.awaitingEntry = true
            }
        }
    }

    /// The entry's header: its block's fields, then the long name and link, then the global
    /// and local pax records over them, then the checks no writer's header fails.
    private func merge(_ raw: RawHeader, _ pending: PendingExtensions) throws -> TarHeader {
        let block = raw.block
        var parser = raw.parser
        var header = TarHeader(name: raw.entryName)
        header.kind = TarHeader.Kind(typeFlag: raw.flag)
        // Before ustar, directories were regular entries whose names end in a slash.
        if (raw.flag == 0 || (block.flavor == .v7 && raw.flag == UInt8(ascii: "0")))
            && raw.storedName.last == UInt8(ascii: "/") && pending.longName == nil {
            header.kind = .directory
        }
        header.linkName = TarPath(bytes: pending.longLink ?? block.string(TarBlock.Field.linkName))
        header.mode = UInt32(truncatingIfNeeded: parser.number(TarBlock.Field.mode, "mode") & 0o7777)
        let uid = parser.number(TarBlock.Field.uid, "uid")
        let gid = parser.number(TarBlock.Field.gid, "gid")
        header.modificationTime = TarTime(seconds: parser.number(TarBlock.Field.mtime, "mtime"))
        if block.flavor != .v7 {
            header.userName = String(decoding: block.string(TarBlock.Field.userName), as: UTF8.self)
            header.groupName = String(decoding: block.string(TarBlock.Field.groupName), as: UTF8.self)
            if header.kind == .characterDevice || header.kind == .blockDevice {
                header.devMajor = Int(parser.number(TarBlock.Field.devMajor, "devmajor"))
                header.devMinor = Int(parser.number(TarBlock.Field.devMinor, "devminor"))
            }
        }
        if let field = parser.firstError { throw TarError(.invalidNumber(field: field), entry: raw.entryName, offset: raw.offset) }
        header.size = raw.size
        header.uid = Int(uid)
        header.gid = Int(gid)

        var records = globalRecords
        for (key, value) in pending.records { records[key] = value.isEmpty ? nil : value }
        do {
            try apply(records, to: &header)
        } catch var error as TarError {
            error.entry = header.name
            error.offset = raw.offset
            throw error
        }
        if header.size < 0 { throw TarError(.invalidNumber(field: "size"), entry: header.name, offset: raw.offset) }
        // An owner no system can have (negative, or past 32 bits) is a damaged or forged
        // header, as the writer never makes one; a caller converting it to uid_t would trap.
        for (field, id) in [("uid", header.uid), ("gid", header.gid)] where id < 0 || id > Int(UInt32.max) {
            throw TarError(.invalidNumber(field: field), entry: header.name, offset: raw.offset)
        }
        // A GNU pax sparse file stores a map plus data fragments; returning it as a regular
        // file would restore the wrong bytes, so it is marked like GNU's old 'S' entries.
        if header.kind == .regular && records.keys.contains(where: { $0.hasPrefix("GNU.sparse.") }) {
            header.kind = .other(UInt8(ascii: "S"))
        }
        if header.kind.isHeaderOnly { header.size = 0 }
        return header
    }

    private func apply(_ records: [String: [UInt8]], to header: inout TarHeader) throws {
        for (key, value) in records {
            switch key {
            case PAXRecords.Key.path: header.name = TarPath(bytes: value)
            case PAXRecords.Key.linkPath: header.linkName = TarPath(bytes: value)
            case PAXRecords.Key.size: header.size = try PAXRecords.parseDecimal(value, key: key)
            case PAXRecords.Key.mtime: header.modificationTime = try PAXRecords.parseTime(value, key: key)
            case PAXRecords.Key.uid: header.uid = Int(try PAXRecords.parseDecimal(value, key: key))
            case PAXRecords.Key.gid: header.gid = Int(try PAXRecords.parseDecimal(value, key: key))
            case PAXRecords.Key.userName: header.userName = String(decoding: value, as: UTF8.self)
            case PAXRecords.Key.groupName: header.groupName = String(decoding: value, as: UTF8.self)
            default: break  // atime, ctime, hdrcharset, vendor keys: nothing to keep
            }
        }
    }

    private func readExtensionBody(_ size: Int, headerOffset: Int64) throws -> [UInt8] {
        var body = [UInt8](repeating: 0, count: size)
        var got = 0
        while got < size {
            if start == end { try refill() }
            if start == end { throw TarError(.truncated, offset: consumed) }
            let n = min(size - got, end - start)
            body.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: got).copyMemory(from: buffer.baseAddress! + start, byteCount: n) }
            got += n
            start += n
            consumed += Int64(n)
        }
        try skip(tarPadding(Int64(size)), entry: nil)
        return body
    }

    // MARK: - Buffered input

    /// One header block; nil at a clean end of stream, `.truncated` for a partial block.
    private func readBlock() throws -> TarBlock? {
        var bytes = [UInt8](repeating: 0, count: tarBlockSize)
        var got = 0
        while got < tarBlockSize {
            if start == end { try refill() }
            if start == end { break }
            let n = min(tarBlockSize - got, end - start)
            bytes.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: got).copyMemory(from: buffer.baseAddress! + start, byteCount: n) }
            got += n
            start += n
            consumed += Int64(n)
        }
        if got == 0 { return nil }
        if got < tarBlockSize { throw TarError(.truncated, offset: consumed) }
        return TarBlock(bytes: bytes)
    }

    private func skip(_ count: Int64, entry: TarPath?) throws {
        var left = count
        while left > 0 {
            if start == end { try refill() }
            if start == end { throw TarError(.truncated, entry: entry, offset: consumed) }
            let n = Int(min(left, Int64(end - start)))
            start += n
            consumed += Int64(n)
            left -= Int64(n)
        }
    }

    /// Refills the empty buffer; leaves it empty at end of stream.
    private func refill() throws {
        start = 0
        end = try readSource(into: buffer)
    }

    private func readSource(into target: UnsafeMutableRawBufferPointer) throws -> Int {
        let n = try source.read(into: target)
        guard n >= 0 && n <= target.count else {
            throw TarError(.io(operation: "read (source returned \(n) for \(target.count) bytes)"), offset: consumed)
        }
        return n
    }
}

extension TarReader {
    /// The current entry's body, whole, for small entries a caller keeps (a manifest): at most
    /// `size` bytes (the header's size), fewer only if the archive ends early.
    public func readWholeBody(size: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: size)
        var filled = 0
        while filled < bytes.count {
            let n = try bytes.withUnsafeMutableBytes { try readBody(into: UnsafeMutableRawBufferPointer(rebasing: $0[filled...])) }
            if n == 0 { break }
            filled += n
        }
        return Array(bytes[0..<filled])
    }
}
