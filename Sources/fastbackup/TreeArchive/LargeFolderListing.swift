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

    let count: Int
    private let directory: FileDescriptor
    private let names: FolderNames
    /// Entry numbers in bytewise name order.
    private let order: [UInt32]
    private var piece: [FolderEntry?] = []
    private var pieceStart = -1

    /// Takes ownership of `directory`, the folder `names` were listed from.
    init(directory: FileDescriptor, names: FolderNames) {
        self.directory = directory
        self.names = names
        count = names.count
        order = names.sortedOrder()
    }

    deinit { directory.close() }

    /// The entry at `position` in name order, or nil when it vanished since the listing.
    func entry(at position: Int) -> FolderEntry? {
        if position < pieceStart || position >= pieceStart + piece.count {
            pieceStart = position
            piece = (position..<min(count, position + Self.pieceSize)).map { names.entry(Int(order[$0]), in: directory) }
        }
        return piece[position - pieceStart]
    }
}
