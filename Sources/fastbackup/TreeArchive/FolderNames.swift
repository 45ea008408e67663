import Foundation
import SystemCalls

/// One entry of a listed folder: its name and lstat, or the errno lstat failed with for another
/// reason than the entry vanishing (EACCES on a folder that can be listed but not searched, EIO:
/// reported, never skipped silently).
struct FolderEntry {
    let name: PathBytes
    let info: stat
    var statError: Int32 = 0
}

/// A folder's names as getdents64 gave them, NUL-terminated one after another in one arena, so a
/// name goes to `fstatat` without a copy and a large folder costs its names plus 4 bytes each.
struct FolderNames {
    private var arena: [UInt8] = []
    /// Where each name starts in `arena`, plus where the last one ends.
    private var starts: [UInt32] = [0]

    var count: Int { starts.count - 1 }

    mutating func append(_ name: UnsafeBufferPointer<UInt8>) {
        arena.append(contentsOf: name)
        arena.append(0)
        starts.append(UInt32(arena.count))
    }

    /// Entry numbers in bytewise name order.
    func sortedOrder() -> [UInt32] {
        var order = (0..<UInt32(count)).map { $0 }
        arena.withUnsafeBufferPointer { bytes in
            func name(_ i: UInt32) -> UnsafeBufferPointer<UInt8> {
                UnsafeBufferPointer(rebasing: bytes[Int(starts[Int(i)])..<(Int(starts[Int(i) + 1]) - 1)])
            }
            order.sort { name($0).lexicographicallyPrecedes(name($1)) }
        }
        return order
    }

    /// Name `i` with its lstat in `directory`, or nil when it vanished since the listing.
    func entry(_ i: Int, in directory: FileDescriptor) -> FolderEntry? {
        arena.withUnsafeBufferPointer { bytes in
            let start = Int(starts[i]), end = Int(starts[i + 1]) - 1
            let name = PathBytes(bytes[start..<end])
            let cName = UnsafeRawPointer(bytes.baseAddress! + start).assumingMemoryBound(to: CChar.self)
            do throws(Errno) {
                return FolderEntry(name: name, info: try directory.status(of: cName))
            } catch {
                return error == .noSuchFile ? nil : FolderEntry(name: name, info: stat(), statError: error.rawValue)
            }
        }
    }
}
