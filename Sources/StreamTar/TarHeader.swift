#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A point in time as tar stores it: whole seconds since 1970-01-01 UTC plus nanoseconds.
///
/// `seconds` may be negative (before 1970) or beyond what octal header fields hold;
/// `nanoseconds` is in `0..<1_000_000_000`, so -0.5 s is `seconds: -1, nanoseconds: 500_000_000`.
public struct TarTime: Hashable, Sendable {
    /// Whole seconds since the epoch (floor).
    public var seconds: Int64
    /// Nanoseconds added to `seconds`, in `0..<1_000_000_000`.
    public var nanoseconds: Int32

    /// A time of `seconds` plus `nanoseconds` (which must be in `0..<1_000_000_000`).
    public init(seconds: Int64, nanoseconds: Int32 = 0) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }
}

/// The metadata of one tar entry, independent of the format it is stored in.
///
/// A plain value: the writer decides per header whether ustar suffices or pax records are
/// needed (see `TarFormat`), and the reader fills it from any supported format.
public struct TarHeader: Hashable, Sendable {
    /// The type of an entry (the ustar `typeflag`).
    public enum Kind: Hashable, Sendable {
        /// A regular file (`'0'`, `'\0'`, or contiguous `'7'`); the only kind with a body.
        case regular
        /// A hard link to `linkName`, an earlier entry in the archive (`'1'`).
        case hardLink
        /// A symbolic link whose target is `linkName` (`'2'`).
        case symbolicLink
        /// A character device (`'3'`), see `devMajor`/`devMinor`.
        case characterDevice
        /// A block device (`'4'`), see `devMajor`/`devMinor`.
        case blockDevice
        /// A directory (`'5'`, or an old-style regular entry whose name ends in `/`).
        case directory
        /// A named pipe (`'6'`).
        case fifo
        /// Any other type flag (e.g. GNU sparse `'S'`, dumpdir `'D'`, volume label `'V'`); its body
        /// is exposed unchanged as `size` bytes.
        case other(UInt8)

        /// The ustar type flag byte for this kind.
        public var typeFlag: UInt8 {
            switch self {
            case .regular: return UInt8(ascii: "0")
            case .hardLink: return UInt8(ascii: "1")
            case .symbolicLink: return UInt8(ascii: "2")
            case .characterDevice: return UInt8(ascii: "3")
            case .blockDevice: return UInt8(ascii: "4")
            case .directory: return UInt8(ascii: "5")
            case .fifo: return UInt8(ascii: "6")
            case let .other(flag): return flag
            }
        }

        /// The kind for a ustar type flag byte.
        public init(typeFlag: UInt8) {
            switch typeFlag {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"): self = .regular
            case UInt8(ascii: "1"): self = .hardLink
            case UInt8(ascii: "2"): self = .symbolicLink
            case UInt8(ascii: "3"): self = .characterDevice
            case UInt8(ascii: "4"): self = .blockDevice
            case UInt8(ascii: "5"): self = .directory
            case UInt8(ascii: "6"): self = .fifo
            default: self = .other(typeFlag)
            }
        }

        /// True for kinds whose entries never carry a body in the archive (links, devices,
        /// directories, FIFOs), whatever their size field says.
        var isHeaderOnly: Bool {
            switch self {
            case .regular, .other: return false
            default: return true
            }
        }
    }

    /// The entry's path, byte-exact (need not be UTF-8). A directory may be named with or
    /// without a trailing `/` (GNU tar writes one; the type flag is what counts).
    public var name: TarPath
    /// Symbolic-link target, or the earlier entry a hard link points to; empty otherwise.
    public var linkName: TarPath
    /// The entry type.
    public var kind: Kind
    /// Permission bits plus setuid, setgid and sticky (`0o7777` at most).
    public var mode: UInt32
    /// Numeric owner.
    public var uid: Int
    /// Numeric group.
    public var gid: Int
    /// Owner name (empty when unknown).
    public var userName: String
    /// Group name (empty when unknown).
    public var groupName: String
    /// Body size in bytes; 0 for every kind but `.regular` and `.other`.
    public var size: Int64
    /// Modification time.
    public var modificationTime: TarTime
    /// Device major number (character and block devices only).
    public var devMajor: Int
    /// Device minor number (character and block devices only).
    public var devMinor: Int

    /// A header with every field given; defaults describe an empty regular file owned by root.
    public init(name: TarPath, kind: Kind = .regular, linkName: TarPath = TarPath(bytes: []), mode: UInt32 = 0o644,
                uid: Int = 0, gid: Int = 0, userName: String = "", groupName: String = "", size: Int64 = 0,
                modificationTime: TarTime = TarTime(seconds: 0), devMajor: Int = 0, devMinor: Int = 0) {
        self.name = name
        self.linkName = linkName
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.userName = userName
        self.groupName = groupName
        self.size = size
        self.modificationTime = modificationTime
        self.devMajor = devMajor
        self.devMinor = devMinor
    }

    /// A header describing a file from its `lstat(2)` result.
    ///
    /// `linkName` must be the symbolic-link target (from `readlink(2)`) or a hard-link target
    /// (from `HardLinkTracker`); with a non-empty `linkName` a regular file becomes a `.hardLink`.
    /// User and group names are left empty (see `TarOwnerNames`). Sub-second modification
    /// times are dropped unless `keepSubsecondTimes` is set, because they force a pax record
    /// (about 1 KiB) onto every entry, and GNU tar's own default archives keep whole seconds.
    ///
    /// Returns nil for sockets (and any other type tar cannot store); GNU tar skips them too.
    public init?(name: TarPath, fileStatus st: stat, linkName: TarPath = TarPath(bytes: []), keepSubsecondTimes: Bool = false) {
        let type = UInt32(st.st_mode) & UInt32(S_IFMT)
        let kind: Kind
        switch type {
        case UInt32(S_IFREG): kind = linkName.isEmpty ? .regular : .hardLink
        case UInt32(S_IFDIR): kind = .directory
        case UInt32(S_IFLNK): kind = .symbolicLink
        case UInt32(S_IFCHR): kind = .characterDevice
        case UInt32(S_IFBLK): kind = .blockDevice
        case UInt32(S_IFIFO): kind = .fifo
        default: return nil
        }
        #if canImport(Glibc)
        let mtime = st.st_mtim
        #else
        let mtime = st.st_mtimespec
        #endif
        // glibc's major()/minor() encoding; they are macros Swift cannot import.
        let rdev = UInt64(truncatingIfNeeded: st.st_rdev)
        self.init(name: name, kind: kind, linkName: linkName, mode: UInt32(st.st_mode) & 0o7777,
                  uid: Int(st.st_uid), gid: Int(st.st_gid),
                  size: kind == .regular ? Int64(st.st_size) : 0,
                  modificationTime: TarTime(seconds: Int64(mtime.tv_sec),
                                            nanoseconds: keepSubsecondTimes ? Int32(mtime.tv_nsec) : 0),
                  devMajor: kind == .characterDevice || kind == .blockDevice ? Int((rdev >> 8) & 0xfff | (rdev >> 32) & ~0xfff) : 0,
                  devMinor: kind == .characterDevice || kind == .blockDevice ? Int(rdev & 0xff | (rdev >> 12) & ~0xff) : 0)
    }
}
