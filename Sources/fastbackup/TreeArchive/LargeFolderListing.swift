import Foundation
import SystemCalls

/// A folder with more entries than a walk keeps whole: its names only, sorted, in one arena, and
/// each entry's lstat done a piece at a time as the emitter reaches it.
///
/// A listing with every entry's `stat` costs about 220 bytes an entry (a 300,000-file folder
/// took ~170 MB with its copies); this costs the name plus 8 bytes, about 28 MB for a folder of
/// 1,000,000 twenty-byte names, and ``pieceSize`` stats at a time. The folder's descriptor stays
/// open while it is walked (one per large folder on the walk's stack), so every piece is read
/// from the folder that was listed, not from whatever the path names later.
final class LargeFolderListing {
    /// Entries above which a folder is listed this way.
    static let threshold = 16_384
    /// Entries whose lstat is held at once.
    static let pieceSize = 1024

    /// An entry whose lstat failed for another reason than vanishing carries its errno.
    struct Entry {
        let name: PathBytes
        let info: stat
        let statError: Int32
    }

    let count: Int
    private let directory: FileDescriptor
    private let arena: [UInt8]
    /// Where each name starts in `arena`; name `i` ends where name `i + 1` starts (one extra at the end).
    private let starts: [UInt32]
    /// Entry numbers in bytewise name order.
    private let order: [UInt32]
    private var piece: [Entry?] = []
    private var pieceStart = -1

    /// Takes ownership of `directory`; `arena` holds the names NUL-terminated, as the kernel gave them.
    init(directory: FileDescriptor, arena: [UInt8], starts: [UInt32]) {
        self.directory = directory
        self.arena = arena
        self.starts = starts
        count = starts.count - 1
        var order = (0..<UInt32(count)).map { $0 }
        arena.withUnsafeBufferPointer { bytes in
            // Each name's bytes without its NUL.
            func name(_ i: UInt32) -> UnsafeBufferPointer<UInt8> {
                UnsafeBufferPointer(rebasing: bytes[Int(starts[Int(i)])..<(Int(starts[Int(i) + 1]) - 1)])
            }
            order.sort { name($0).lexicographicallyPrecedes(name($1)) }
        }
        self.order = order
    }

    deinit { directory.close() }

    /// The entry at `position` in name order, or nil when it vanished since the listing.
    func entry(at position: Int) -> Entry? {
        if position < pieceStart || position >= pieceStart + piece.count { load(from: position) }
        return piece[position - pieceStart]
    }

    private func load(from first: Int) {
        pieceStart = first
        piece.removeAll(keepingCapacity: true)
        arena.withUnsafeBufferPointer { bytes in
            for position in first..<min(count, first + Self.pieceSize) {
                let i = Int(order[position])
                let start = Int(starts[i]), end = Int(starts[i + 1]) - 1
                let name = PathBytes(bytes[start..<end])
                let cName = UnsafeRawPointer(bytes.baseAddress! + start).assumingMemoryBound(to: CChar.self)
                do throws(Errno) {
                    piece.append(Entry(name: name, info: try directory.status(of: cName), statError: 0))
                } catch {
                    piece.append(error == .noSuchFile ? nil : Entry(name: name, info: stat(), statError: error.rawValue))
                }
            }
        }
    }
}
