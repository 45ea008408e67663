import Foundation
@testable import StreamTar
import TestSupport

/// The formats a test tree is written in, from most to least limited.
enum TreeFormat: String, CaseIterable {
    case v7, ustar, oldgnu, gnu, pax

    /// Whether this format, as GNU tar 1.34 writes it, can hold `spec`.
    func canHold(_ spec: TreeSpec) -> Bool {
        let target: [UInt8]
        switch spec.node {
        case let .symlink(t): target = t
        case let .hardLink(t): target = t
        default: target = []
        }
        switch self {
        case .gnu, .oldgnu, .pax:
            return true
        case .ustar:
            return TarFormat.splitUSTARName(spec.path + (spec.node == .directory ? [UInt8(ascii: "/")] : [])) != nil
                && target.count <= 100 && spec.mtime >= 0 && spec.mtime < 1 << 33 && spec.uid < 1 << 21 && spec.gid < 1 << 21
        case .v7 where spec.node == .fifo:
            return false  // v7 has no FIFO type
        case .v7:
            // v7 names are NUL-terminated in 100 bytes; GNU tar adds a slash to directory names.
            return TreeFormat.ustar.canHold(spec) && spec.path.count + (spec.node == .directory ? 1 : 0) < 100 && target.count < 100
        }
    }
}

/// A tree with every case the brief lists: names of 99 to 300 bytes, UTF-8 and raw-byte names,
/// spaces and newlines, an empty file, symlinks (one to a 300-byte target), hard links, empty
/// directories, modes 0600/0755/04755/01777, times before 1970 and after 2038, large ids.
func edgeCaseTree(seed: UInt64 = 0x5EED_0001) -> [TreeSpec] {
    var rng = SeededRandom(seed: seed)
    var specs: [TreeSpec] = []
    var files: [TreeSpec] = []

    for length in [99, 100, 101, 155, 256, 300] {
        files.append(TreeSpec(path: pathOfLength(length, top: "names"), node: .file(rng.bytes(Int.random(in: 0...3000, using: &rng)))))
    }
    files.append(TreeSpec(path: Array("names/".utf8) + Array(repeating: UInt8(ascii: "L"), count: 120), node: .file(rng.bytes(10))))
    files.append(TreeSpec(path: Array("text/Grüße – 日本語.txt".utf8), node: .file(Array("utf-8 name\n".utf8))))
    files.append(TreeSpec(path: Array("text/".utf8) + [0x66, 0xFF, 0xFE, 0x2E, 0x62, 0x69, 0x6E], node: .file(rng.bytes(33))))
    files.append(TreeSpec(path: Array("text/".utf8) + Array(repeating: UInt8(ascii: "r"), count: 150) + [0xFF, UInt8(ascii: "x")], node: .file(rng.bytes(7))))
    files.append(TreeSpec(path: Array("text/with  spaces .txt".utf8), node: .file(Array("spaces".utf8))))
    files.append(TreeSpec(path: Array("text/line\nbreak".utf8), node: .file(Array("newline".utf8))))
    files.append(TreeSpec(path: Array("text/empty".utf8), node: .file([])))
    files.append(TreeSpec(path: Array("data/three-mebibytes.bin".utf8), node: .file(rng.bytes(3 << 20 | 123))))
    files.append(TreeSpec(path: Array("data/exact-block.bin".utf8), node: .file(rng.bytes(1024))))
    files.append(TreeSpec(path: Array("links/long-target".utf8), node: .symlink(pathOfLength(300, top: "nowhere"))))
    files.append(TreeSpec(path: Array("links/relative".utf8), node: .symlink(Array("../text/empty".utf8))))
    files.append(TreeSpec(path: Array("hard/original".utf8), node: .file(rng.bytes(500)), mode: 0o640))
    files.append(TreeSpec(path: Array("hard/second".utf8), node: .hardLink(to: Array("hard/original".utf8))))
    files.append(TreeSpec(path: Array("hard/third".utf8), node: .hardLink(to: Array("hard/original".utf8))))
    files.append(TreeSpec(path: Array("modes/0600".utf8), node: .file([1]), mode: 0o600))
    files.append(TreeSpec(path: Array("modes/0755".utf8), node: .file([2]), mode: 0o755))
    files.append(TreeSpec(path: Array("modes/04755".utf8), node: .file([3]), mode: 0o4755))
    files.append(TreeSpec(path: Array("times/1960".utf8), node: .file([4]), mtime: -315_619_200))
    files.append(TreeSpec(path: Array("times/1969-12-31T23:59:59".utf8), node: .file([5]), mtime: -1))
    files.append(TreeSpec(path: Array("times/2040".utf8), node: .file([6]), mtime: 2_208_988_800))
    files.append(TreeSpec(path: Array("times/2100".utf8), node: .file([7]), mtime: 4_102_444_800))
    files.append(TreeSpec(path: Array("owners/large-ids".utf8), node: .file([8]), uid: 3_000_000, gid: 4_000_000))
    files.append(TreeSpec(path: Array("owners/small-ids".utf8), node: .file([9]), uid: 1234, gid: 5678))
    files.append(TreeSpec(path: Array("special/fifo".utf8), node: .fifo, mode: 0o640))

    specs += parentDirectories(of: files.map(\.path), existing: [])
    specs.append(TreeSpec(path: Array("times/1969-dir".utf8), node: .directory, mode: 0o755, mtime: -86_400))
    specs.append(TreeSpec(path: Array("empty-dir".utf8), node: .directory, mode: 0o755))
    specs.append(TreeSpec(path: Array("empty-private".utf8), node: .directory, mode: 0o700))
    specs.append(TreeSpec(path: Array("sticky".utf8), node: .directory, mode: 0o1777))
    specs += files
    return specs
}
