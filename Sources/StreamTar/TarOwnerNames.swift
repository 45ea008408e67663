#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// User and group names for numeric ids, looked up once each (`getpwuid_r`, `getgrgid_r`).
///
/// GNU tar and bsdtar restore owners by name first and fall back to the number, so archives
/// moved between machines keep `www-data` even when its uid differs. An id without an entry
/// in the user or group database gets an empty name (the numeric id alone is stored).
/// Not thread-safe: use one per writer.
public final class TarOwnerNames {
    private var users: [UInt32: String] = [:]
    private var groups: [UInt32: String] = [:]

    /// An empty cache.
    public init() {}

    /// The user name of `uid`, or "" when there is none.
    public func userName(_ uid: UInt32) -> String {
        if let known = users[uid] { return known }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        let name = TarOwnerNames.lookup { buffer in
            getpwuid_r(uid, &entry, buffer.baseAddress!, buffer.count, &result)
        } value: { result.map { String(cString: $0.pointee.pw_name) } }
        users[uid] = name
        return name
    }

    /// The group name of `gid`, or "" when there is none.
    public func groupName(_ gid: UInt32) -> String {
        if let known = groups[gid] { return known }
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        let name = TarOwnerNames.lookup { buffer in
            getgrgid_r(gid, &entry, buffer.baseAddress!, buffer.count, &result)
        } value: { result.map { String(cString: $0.pointee.gr_name) } }
        groups[gid] = name
        return name
    }

    /// Fills `header.userName` and `header.groupName` from its uid and gid.
    public func fill(_ header: inout TarHeader) {
        if header.uid >= 0 && header.uid <= Int(UInt32.max) { header.userName = userName(UInt32(header.uid)) }
        if header.gid >= 0 && header.gid <= Int(UInt32.max) { header.groupName = groupName(UInt32(header.gid)) }
    }

    /// Runs a `*_r` lookup with a growing scratch buffer (ERANGE), capped at 1 MiB.
    private static func lookup(_ call: (UnsafeMutableBufferPointer<CChar>) -> Int32, value: () -> String?) -> String {
        var size = 1024
        while size <= 1 << 20 {
            let buffer = UnsafeMutableBufferPointer<CChar>.allocate(capacity: size)
            defer { buffer.deallocate() }
            let rc = call(buffer)
            if rc == ERANGE {
                size *= 2
                continue
            }
            return rc == 0 ? (value() ?? "") : ""
        }
        return ""
    }
}
