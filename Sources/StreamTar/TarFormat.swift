/// How `TarWriter` chooses the on-disk format of each header, and the limits of each format.
///
/// StreamTar writes **plain ustar** whenever the header fits, and otherwise **ustar plus a
/// pax extended header** (`typeflag 'x'`) carrying exactly the fields that do not fit. It
/// never writes GNU `L`/`K` long-name entries or base-256 numbers. Pax was chosen because
/// it is the one extension that carries everything a backup needs: byte-exact names of any
/// length, sizes of 8 GiB and more, negative and fractional times, and large ids; GNU tar
/// 1.34, bsdtar and Go all read it, and POSIX specifies it. (Go's archive/tar prefers it too.)
///
/// Format limits (what a field can hold without an extension):
///
/// | Field            | v7          | ustar                         | GNU (reader only)  | pax (`x` record)           |
/// |------------------|-------------|-------------------------------|--------------------|----------------------------|
/// | name             | 100 bytes   | 100, or 155 prefix + `/` + 100 | any (`L` entry)   | any length (`path`)        |
/// | link target      | 100 bytes   | 100 bytes                     | any (`K` entry)    | any length (`linkpath`)    |
/// | size             | < 8 GiB     | < 8 GiB (11 octal digits)     | base-256, 2^63     | decimal, up to 2^63-1      |
/// | uid, gid         | < 2^21      | < 2^21 (7 octal digits)       | base-256           | decimal, < 2^32 (uid_t)    |
/// | mtime            | 0 ..< 2^33 s| 0 ..< 2^33 s, whole seconds    | base-256, negative | decimal, negative, `.nnn`  |
/// | uname, gname     | -           | 31 bytes                      | 31 bytes           | any length (UTF-8)         |
/// | dev major/minor  | -           | < 2^21                        | base-256           | - (the writer refuses)     |
///
/// Names are byte strings in every format. A name that is not valid UTF-8 but fits ustar
/// stays in ustar: ustar fields are copied byte for byte by GNU tar and bsdtar, so no charset
/// question arises. A non-UTF-8 name that needs pax is written with `hdrcharset=BINARY`, as
/// POSIX asks and bsdtar does; bsdtar then restores the bytes exactly, and GNU tar 1.34 also
/// restores them exactly but prints "Ignoring unknown extended header keyword 'hdrcharset'"
/// (a warning; its exit status stays 0). Without `hdrcharset` GNU tar would be silent but
/// bsdtar would fail with "Pathname can't be converted from UTF-8".
///
/// The writer does not pad the archive to GNU tar's 10240-byte record size: the stream
/// ends right after the two zero blocks, which every reader accepts, and compressed output
/// does not gain 9 KiB of zeros.
public enum TarFormat {
    /// One reason a header needs a pax record, e.g. "ustar cannot hold a 300-byte name".
    public struct ExtensionReason: Hashable, Sendable, CustomStringConvertible {
        /// The pax key that carries the field.
        public var key: String
        /// Why ustar cannot hold the field.
        public var description: String
    }

    static let maxUSTARSize = TarBlock.maxOctal(TarBlock.Field.size.count)      // 8 GiB - 1
    static let maxUSTARID = TarBlock.maxOctal(TarBlock.Field.uid.count)         // 2^21 - 1
    static let maxUSTARTime = TarBlock.maxOctal(TarBlock.Field.mtime.count)     // 2^33 - 1
    static let maxUSTARDevice = TarBlock.maxOctal(TarBlock.Field.devMajor.count)
    static let maxUSTAROwnerName = TarBlock.Field.userName.count - 1

    /// Why `header` cannot be written as plain ustar; empty when it can.
    ///
    /// This is exactly the list of pax records `TarWriter` adds (plus `hdrcharset` when a
    /// pax name is not UTF-8).
    public static func extensionReasons(for header: TarHeader) -> [ExtensionReason] {
        var reasons: [ExtensionReason] = []
        if splitUSTARName(header.name.bytes) == nil {
            reasons.append(.init(key: PAXRecords.Key.path, description: "ustar cannot hold a \(header.name.bytes.count)-byte name"))
        }
        if header.linkName.bytes.count > TarBlock.Field.linkName.count {
            reasons.append(.init(key: PAXRecords.Key.linkPath, description: "ustar cannot hold a \(header.linkName.bytes.count)-byte link target"))
        }
        if header.size > maxUSTARSize {
            reasons.append(.init(key: PAXRecords.Key.size, description: "ustar cannot hold a size of \(header.size) bytes (8 GiB or more)"))
        }
        if header.uid > maxUSTARID {
            reasons.append(.init(key: PAXRecords.Key.uid, description: "ustar cannot hold uid \(header.uid)"))
        }
        if header.gid > maxUSTARID {
            reasons.append(.init(key: PAXRecords.Key.gid, description: "ustar cannot hold gid \(header.gid)"))
        }
        let t = header.modificationTime
        if t.seconds < 0 || t.seconds > maxUSTARTime {
            reasons.append(.init(key: PAXRecords.Key.mtime, description: "ustar cannot hold mtime \(t.seconds) (before 1970 or after 2242)"))
        } else if t.nanoseconds != 0 {
            reasons.append(.init(key: PAXRecords.Key.mtime, description: "ustar cannot hold sub-second mtime"))
        }
        if header.userName.utf8.count > maxUSTAROwnerName {
            reasons.append(.init(key: PAXRecords.Key.userName, description: "ustar cannot hold a \(header.userName.utf8.count)-byte user name"))
        }
        if header.groupName.utf8.count > maxUSTAROwnerName {
            reasons.append(.init(key: PAXRecords.Key.groupName, description: "ustar cannot hold a \(header.groupName.utf8.count)-byte group name"))
        }
        return reasons
    }

    /// Splits a name into ustar (prefix, name) fields, or nil when it cannot fit.
    /// The split point is a `/` that leaves at most 155 bytes before and 1...100 after it.
    static func splitUSTARName(_ name: [UInt8]) -> (prefix: ArraySlice<UInt8>, name: ArraySlice<UInt8>)? {
        let nameWidth = TarBlock.Field.name.count
        let prefixWidth = TarBlock.Field.prefix.count
        if name.count <= nameWidth { return (name[0..<0], name[...]) }
        // Search only where a split can work; skip a trailing slash so "dir/" never splits to an empty name.
        var limit = min(name.count, prefixWidth + 1)
        if limit == name.count && name[limit - 1] == UInt8(ascii: "/") { limit -= 1 }
        guard let slash = name[0..<limit].lastIndex(of: UInt8(ascii: "/")), slash > 0 else { return nil }
        let suffixLength = name.count - slash - 1
        guard suffixLength > 0, suffixLength <= nameWidth, slash <= prefixWidth else { return nil }
        return (name[0..<slash], name[(slash + 1)...])
    }
}
