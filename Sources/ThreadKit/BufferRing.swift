
/// One region of memory allocated once and handed out as a ring of blocks (a tree backup
/// holds its read-ahead file bodies in one).
///
/// Blocks are taken in order and mostly given back in the same order (a tree backup's tar
/// writer consumes file bodies in entry order), so a ring with a FIFO of live blocks fits: no malloc per
/// file, and after the first lap no page faults (a fresh buffer per file cost ~5% of a media
/// backup's CPU in page faults and zeroing). A block given back early (a file that vanished)
/// is marked and reclaimed once every older block is back. Memory: `capacity`, whatever the
/// tree.
public final class BufferRing: @unchecked Sendable {
    public struct Block: Sendable { public let start: Int; public let length: Int }

    public let capacity: Int
    private let base: UnsafeMutableRawPointer
    private let condition = Monitor()
    /// Live blocks in allocation order; `freed` marks those given back before older ones.
    private var blocks: [(block: Block, freed: Bool)] = []
    private var first = 0
    /// Where the next block starts when it fits before the end.
    private var head = 0

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
        base = .allocate(byteCount: self.capacity, alignment: 4096)
    }

    deinit { base.deallocate() }

    /// The memory of a block.
    public func buffer(_ b: Block) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: base + b.start, count: b.length)
    }

    /// Takes `length` contiguous bytes (at most ``capacity``), waiting until older blocks are
    /// given back. Takers must be one thread, or ordered among themselves.
    public func take(_ length: Int) -> Block {
        condition.lock(); defer { condition.unlock() }
        while true {
            if let b = takeLocked(length) { return b }
            condition.wait()
        }
    }

    /// ``take(_:)`` without waiting: nil when the bytes are not free yet.
    public func tryTake(_ length: Int) -> Block? {
        condition.lock(); defer { condition.unlock() }
        return takeLocked(length)
    }

    private func takeLocked(_ length: Int) -> Block? {
        precondition(length > 0 && length <= capacity)
        if first == blocks.count {
            blocks.removeAll(keepingCapacity: true)
            first = 0
            head = 0
        }
        guard let start = place(length) else { return nil }
        let b = Block(start: start, length: length)
        blocks.append((b, false))
        head = start + length
        return b
    }

    /// Gives a block back; any order.
    public func give(_ b: Block) {
        condition.lock(); defer { condition.unlock() }
        guard let i = blocks[first...].firstIndex(where: { $0.block.start == b.start && !$0.freed }) else {
            preconditionFailure("block given back twice")
        }
        blocks[i].freed = true
        while first < blocks.count && blocks[first].freed { first += 1 }
        if first > 1024 && first * 2 > blocks.count {
            blocks.removeFirst(first)
            first = 0
        }
        condition.broadcast()
    }

    /// The start of a free run of `length` bytes after `head`, or at 0 once the oldest live
    /// block leaves room there; nil when it must wait.
    private func place(_ length: Int) -> Int? {
        guard first < blocks.count else { return 0 }
        let tail = blocks[first].block.start
        if head > tail {
            if head + length <= capacity { return head }
            return length <= tail ? 0 : nil
        }
        // head <= tail with live blocks: the free run is [head, tail); head == tail means full.
        return head < tail && head + length <= tail ? head : nil
    }
}
