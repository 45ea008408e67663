import Foundation
import StreamTar
import XCTest
@testable import fastbackup
import TestSupport

/// The metadata pass over extracted folders: every listed folder once, children before
/// parents, deep trees past the descriptor stack, and nothing through a symlink.
final class DirectoryMetadataWalkTests: XCTestCase {
    private func header(_ rel: String, mode: UInt32 = 0o750) -> (rel: PathBytes, header: TarHeader) {
        (PathBytes(path: rel), TarHeader(name: TarPath(bytes: PathBytes(path: rel + "/")), kind: .directory, mode: mode))
    }

    func testPostOrderOnceEachThroughDeepTrees() throws {
        let t = try TempTree("dmw")
        let deep = (1...12).map { "d\($0)" }.joined(separator: "/")
        let rels = ["a", "a/b", "a/b/c", "a-c", "a/b2", "x/" + deep, "x"]
        XCTAssertEqual(try runProcess(["/bin/mkdir", "-p"] + rels.map { t.path + "/" + $0 }).status, 0)
        var order: [String] = []
        var list = rels.map { header($0) }
        list.append(header("a/b", mode: 0o700))   // listed twice: the later header wins
        try DirectoryMetadataWalk(maxHeld: 3).run(list, base: PathBytes(path: t.path)) { fd, h, rel in
            var st = stat()
            XCTAssertEqual(fstat(fd, &st), 0)
            XCTAssertEqual(st.st_mode & S_IFMT, S_IFDIR)
            if rel == PathBytes(path: "a/b") { XCTAssertEqual(h.mode, 0o700) }
            order.append(rel.displayString)
        }
        XCTAssertEqual(Set(order), Set(rels), "every listed folder, and only those")
        XCTAssertEqual(order.count, rels.count, "each once")
        func index(_ r: String) -> Int { order.firstIndex(of: r)! }
        XCTAssertLessThan(index("a/b/c"), index("a/b"))
        XCTAssertLessThan(index("a/b"), index("a"))
        XCTAssertLessThan(index("a/b2"), index("a"))
        XCTAssertLessThan(index("x/" + deep), index("x"), "a folder deeper than the stack is still reached")
    }

    func testFolderReplacedBySymlinkIsNotFollowed() throws {
        let t = try TempTree("dmw")
        XCTAssertEqual(mkdir(t.path + "/outside", 0o755), 0)
        XCTAssertEqual(mkdir(t.path + "/outside/inner", 0o755), 0)
        XCTAssertEqual(mkdir(t.path + "/base", 0o755), 0)
        XCTAssertEqual(symlink(t.path + "/outside", t.path + "/base/s"), 0)
        var seen: [String] = []
        try DirectoryMetadataWalk().run([header("s"), header("s/inner")], base: PathBytes(path: t.path + "/base")) { _, _, rel in
            seen.append(rel.displayString)
        }
        XCTAssertEqual(seen, [], "nothing reached through the symlink")
    }
}
