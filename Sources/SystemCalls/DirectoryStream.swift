#if canImport(Glibc)
import Glibc

/// glibc's getdents64(3) (2.30 and later), which its module map does not export (_GNU_SOURCE).
@_silgen_name("getdents64")
private func linuxGetdents64(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) -> Int

/// A directory's entries read straight from the kernel with `getdents64(2)`, in batches of
/// whatever fits the caller's buffer.
///
/// Unlike `fdopendir(3)` + `readdir(3)` this costs no `fcntl` calls per folder (fdopendir checks
/// the descriptor's flags and sets close-on-exec), allocates nothing, and hands out each name
/// as bytes. The buffer belongs to the caller, so a walker thread reuses one for every folder.
public enum DirectoryStream {
    /// The buffer size that lists most folders in one call (about 1,000 short names).
    public static let recommendedBufferSize = 32 << 10

    /// One entry, valid only during the callback.
    public struct Entry {
        /// The name's bytes, without the terminating NUL.
        public let name: UnsafeBufferPointer<UInt8>
        /// The same name NUL-terminated, as the kernel wrote it: ready for `fstatat` or `openat`.
        public var cName: UnsafePointer<CChar> { UnsafeRawPointer(name.baseAddress!).assumingMemoryBound(to: CChar.self) }
        /// `d_type` (`DT_REG`, `DT_DIR`, ... or `DT_UNKNOWN` where the file system does not say).
        public let type: UInt8
        /// `d_ino`.
        public let inode: UInt64

        /// Whether the name is `.` or `..`.
        public var isDotOrDotDot: Bool {
            name.count <= 2 && name.first == 0x2E && (name.count == 1 || name[1] == 0x2E)
        }
    }

    /// Calls `body` for every entry of the open directory `directory` (`.` and `..` included),
    /// reading into `buffer` (at least 512 bytes; ``recommendedBufferSize`` is a good size).
    /// - Throws: what `body` throws, or `SystemCallError` for a failed `getdents64`.
    public static func forEachEntry(in directory: FileDescriptor, buffer: UnsafeMutableRawBufferPointer,
                                    _ body: (Entry) throws -> Void) throws {
        precondition(buffer.count >= 512, "a getdents64 buffer must hold the longest entry")
        let base = buffer.baseAddress!
        while true {
            let got: Int
            do { got = try retryingInterrupts { linuxGetdents64(directory.rawValue, base, buffer.count) } }
            catch { throw SystemCallError("getdents64", error) }
            if got == 0 { return }
            var offset = 0
            // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
            while offset < got {
                let record = base + offset
                let inode = record.loadUnaligned(as: UInt64.self)
                let length = Int(record.loadUnaligned(fromByteOffset: 16, as: UInt16.self))
                let type = record.load(fromByteOffset: 18, as: UInt8.self)
                let namePointer = (record + 19).assumingMemoryBound(to: UInt8.self)
                let nameLength = strnlen(UnsafeRawPointer(namePointer).assumingMemoryBound(to: CChar.self), length - 19)
                try body(Entry(name: UnsafeBufferPointer(start: namePointer, count: nameLength), type: type, inode: inode))
                offset += length
            }
        }
    }
}
#endif
