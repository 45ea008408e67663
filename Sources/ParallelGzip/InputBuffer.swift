import Glibc
import SystemCalls
import ThreadKit

/// A bounded read buffer over a file descriptor that knows the absolute offset of its next byte.
/// Used by the decompressor's reader thread only.
final class InputBuffer {
    let fd: Int32
    let path: String
    let capacity: Int
    private let base: UnsafeMutableRawPointer
    private var start = 0
    private var end = 0
    private(set) var atEOF = false
    /// Set by the owner to stop the reader thread before its next `read(2)`.
    let stop = StopFlag()
    /// Absolute offset in the stream of the next unconsumed byte.
    private(set) var offset: Int64 = 0

    init(fd: Int32, path: String, capacity: Int) {
        self.fd = fd
        self.path = path
        self.capacity = capacity
        base = .allocate(byteCount: capacity, alignment: 64)
    }

    deinit { base.deallocate() }

    /// Unconsumed bytes in the buffer.
    var available: Int { end - start }
    /// The unconsumed bytes.
    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base + start, count: end - start) }

    /// Reads until at least `n` (<= capacity) bytes are buffered or the input ends.
    /// Returns whether `n` bytes are available.
    func ensure(_ n: Int) throws -> Bool {
        precondition(n <= capacity)
        while end - start < n && !atEOF {
            if start > 0 && (capacity - end < n - (end - start) || end == capacity) {
                if end > start { base.copyMemory(from: base + start, byteCount: end - start) }
                end -= start
                start = 0
            }
            if stop.isSet { throw StopFlag.Stopped() }
            let r: Int
            do { r = try FileDescriptor(rawValue: fd).read(into: UnsafeMutableRawBufferPointer(start: base + end, count: capacity - end)) }
            catch { throw CompressionError(.io, path: path, errno: error.rawValue, detail: "read failed at byte offset \(offset + Int64(available))") }
            if r == 0 { atEOF = true } else { end += r }
        }
        return end - start >= n
    }

    /// Reads more if the buffer is empty. Returns false at end of input.
    func fillIfEmpty() throws -> Bool {
        if start == end { start = 0; end = 0 }
        return try ensure(1)
    }

    func consume(_ n: Int) {
        start += n
        offset += Int64(n)
    }

    /// Copies the next `count` bytes to `dest`, reading past the buffer directly. Returns the bytes
    /// copied (fewer only at end of input).
    func read(into dest: UnsafeMutableRawPointer, count: Int) throws -> Int {
        let fromBuffer = min(count, available)
        if fromBuffer > 0 { dest.copyMemory(from: base + start, byteCount: fromBuffer); consume(fromBuffer) }
        if fromBuffer == count || atEOF { return fromBuffer }
        if stop.isSet { throw StopFlag.Stopped() }
        let r: Int
        do { r = try FileDescriptor(rawValue: fd).readFull(into: UnsafeMutableRawBufferPointer(start: dest + fromBuffer, count: count - fromBuffer)) }
        catch { throw CompressionError(.io, path: path, errno: error.rawValue, detail: "read failed at byte offset \(offset)") }
        offset += Int64(r)
        if r < count - fromBuffer { atEOF = true }
        return fromBuffer + r
    }
}

/// A flag one thread sets and another polls.
final class StopFlag {
    struct Stopped: Error {}
    private let lock = Monitor()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
