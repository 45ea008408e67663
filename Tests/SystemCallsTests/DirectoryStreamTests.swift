import Glibc
import SystemCalls
import XCTest

/// getdents64 listings against the names the test made, and against readdir(3): a folder larger
/// than one buffer, names of every length up to NAME_MAX, bytes that are not UTF-8.
final class DirectoryStreamTests: XCTestCase {
    private var folder = ""

    override func setUpWithError() throws {
        var template = Array("/tmp/dirstream-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Errno.current }
        folder = String(cString: made)
    }

    override func tearDownWithError() throws {
        _ = system("rm -rf '\(folder)'")
    }

    private func makeFile(_ name: [UInt8]) throws {
        let path = Array(folder.utf8) + [UInt8(ascii: "/")] + name + [0]
        let fd = path.withUnsafeBufferPointer { $0.baseAddress!.withMemoryRebound(to: CChar.self, capacity: path.count) { open($0, O_CREAT | O_WRONLY, 0o644) } }
        guard fd >= 0 else { throw Errno.current }
        close(fd)
    }

    private func listWithGetdents(bufferSize: Int) throws -> [[UInt8]] {
        let dir = try FileDescriptor.open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { dir.close() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 8)
        defer { buffer.deallocate() }
        var names: [[UInt8]] = []
        try DirectoryStream.forEachEntry(in: dir, buffer: buffer) { entry in
            if !entry.isDotOrDotDot { names.append(Array(entry.name)) }
            // The NUL-terminated form is the same name.
            XCTAssertEqual(strlen(entry.cName), entry.name.count)
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    private func listWithReaddir() -> [[UInt8]] {
        guard let dir = opendir(folder) else { return [] }
        defer { closedir(dir) }
        var names: [[UInt8]] = []
        while let ent = readdir(dir) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in Array(raw.prefix(while: { $0 != 0 })) }
            if name != [0x2E] && name != [0x2E, 0x2E] { names.append(name) }
        }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }

    func testListsEveryNameAcrossManyBuffers() throws {
        var made: [[UInt8]] = []
        // 3,000 names of 1 to 255 bytes: with a 512-byte buffer every call returns one or two records.
        for i in 0..<3000 {
            let length = 1 + (i * 37) % 255
            var name = Array(String(i).utf8)
            while name.count < length { name.append(UInt8(ascii: "a") + UInt8(name.count % 26)) }
            name = Array(name.prefix(length))
            if made.contains(name) { continue }
            try makeFile(name)
            made.append(name)
        }
        // A name that is not UTF-8 comes back byte for byte.
        try makeFile([0xFF, 0xFE, 0x41])
        made.append([0xFF, 0xFE, 0x41])
        made.sort { $0.lexicographicallyPrecedes($1) }
        XCTAssertEqual(try listWithGetdents(bufferSize: 512), made)
        XCTAssertEqual(try listWithGetdents(bufferSize: DirectoryStream.recommendedBufferSize), made)
        XCTAssertEqual(listWithReaddir(), made)
    }

    func testEmptyFolderHasOnlyDots() throws {
        XCTAssertEqual(try listWithGetdents(bufferSize: 4096), [])
    }

    func testFailedListingCarriesTheCallAndErrno() throws {
        // A regular file opened as a directory listing: getdents64 says ENOTDIR.
        try makeFile(Array("plain".utf8))
        let file = try FileDescriptor.open(folder + "/plain", O_RDONLY | O_CLOEXEC)
        defer { file.close() }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 8)
        defer { buffer.deallocate() }
        XCTAssertThrowsError(try DirectoryStream.forEachEntry(in: file, buffer: buffer) { _ in }) { error in
            guard let e = error as? SystemCallError else { return XCTFail("\(error)") }
            XCTAssertEqual(e.call, "getdents64")
            XCTAssertEqual(e.errno, .notDirectory)
        }
    }
}
