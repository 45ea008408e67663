import Foundation
import XCTest
import TestSupport

/// The result of running a command to completion.
struct RunResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Runs `argv` with no stdin (or `input`), waiting for it to end.
@discardableResult
func runProcess(_ argv: [String], input: String? = nil, cwd: String? = nil, environment: [String: String] = [:]) throws -> RunResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: argv[0].hasPrefix("/") ? argv[0] : "/usr/bin/env")
    p.arguments = argv[0].hasPrefix("/") ? Array(argv.dropFirst()) : argv
    if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
    var env = ProcessInfo.processInfo.environment
    env.merge(environment) { _, new in new }
    p.environment = env
    let out = Pipe(), err = Pipe(), inp = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = inp
    try p.run()
    if let input { inp.fileHandleForWriting.write(input.data(using: .utf8)!) }
    try inp.fileHandleForWriting.close()
    // Both pipes are drained at once so neither can fill and stall the child.
    final class Box: @unchecked Sendable { var data = Data() }
    let outBox = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { outBox.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    let outData = outBox.data
    p.waitUntilExit()
    return RunResult(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                     stderr: String(decoding: errData, as: UTF8.self))
}

/// Runs a shell command line (for pipes and ulimit), failing the test on a non-zero exit.
@discardableResult
func sh(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let r = try runProcess(["/bin/bash", "-c", script])
    XCTAssertEqual(r.status, 0, "`\(script)` failed: \(r.stderr)", file: file, line: line)
    return r.stdout
}

/// The built `fastbackup` binary: beside the test runner, in SwiftPM's build folder.
let fastbackupBinary: String = {
    let runner = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    return runner.deletingLastPathComponent().appendingPathComponent("fastbackup").path
}()

func fastbackup(_ args: [String], input: String? = nil, environment: [String: String] = [:]) throws -> RunResult {
    try runProcess([fastbackupBinary] + args, input: input, environment: environment)
}

func requireTool(_ name: String) throws {
    let r = try runProcess(["/bin/bash", "-c", "command -v \(name)"])
    if r.status != 0 { throw XCTSkip("\(name) is not installed; this test needs it (apt-get install it, or run scripts/test.sh)") }
}

/// A temporary folder removed when the object goes away.
final class TempTree: TemporaryFolder {
    func file(_ rel: String, _ content: String, mode: Int = 0o644) throws {
        let full = path + "/" + rel
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try content.write(toFile: full, atomically: false, encoding: .utf8)
        chmod(full, mode_t(mode))
    }

    func dir(_ rel: String) throws {
        try FileManager.default.createDirectory(atPath: path + "/" + rel, withIntermediateDirectories: true)
    }
}

/// A tree described the way `find -printf` sees it: type, mode, owner, size, mtime (whole
/// seconds), link target, and a SHA-1 of each file's content. Two trees are equal when their manifests are.
func manifest(_ root: String, excluding: [String] = []) throws -> [String: String] {
    let meta = try sh("cd '\(root)' && find . -mindepth 1 -printf '%P\\t%y\\t%m\\t%s\\t%T@\\t%l\\t%U:%G\\n'")
    let sums = try sh("cd '\(root)' && find . -type f -print0 | xargs -0 -r sha1sum")
    var digest: [String: String] = [:]
    for line in sums.split(separator: "\n") {
        let hash = String(line.prefix(40))
        var path = String(line.dropFirst(42))
        if path.hasPrefix("./") { path = String(path.dropFirst(2)) }
        digest[path] = hash
    }
    var result: [String: String] = [:]
    for line in meta.split(separator: "\n") {
        let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        let path = f[0]
        if excluding.contains(where: { path == $0 || path.hasPrefix($0 + "/") }) { continue }
        let mtime = f[4].split(separator: ".").first.map(String.init) ?? f[4]
        switch f[1] {
        case "d": result[path] = "d \(f[2]) \(f[6]) \(mtime)"
        case "l": result[path] = "l \(f[5]) \(f[6])"
        default: result[path] = "\(f[1]) \(f[2]) \(f[6]) \(f[3]) \(mtime) \(digest[path] ?? "-")"
        }
    }
    return result
}

/// Runs `setup:backup --<kind>` on the store (no maintenance mode) and returns the path it
/// printed (`Code backup path: ...`, `Media backup path: ...`, `DB backup path: ...`).
func takeBackup(_ t: TempTree, _ kind: String, _ extra: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let r = try fastbackup(["setup:backup", "--\(kind)", "--no-maintenance", "--root", t.path] + extra)
    XCTAssertEqual(r.status, 0, r.stderr, file: file, line: line)
    let title = ["code": "Code", "media": "Media", "db": "DB"][kind] ?? kind
    return try XCTUnwrap(r.stdout.split(separator: "\n").first { $0.hasPrefix("\(title) backup path: ") }
        .map { String($0.dropFirst("\(title) backup path: ".count)) }, r.stdout, file: file, line: line)
}

/// The entry every tree backup ends with (its tree record; TreeRecord in the sources).
let TreeRecordName = "var/.fastbackup/record.txt"

/// The package root, to find `../shared/corpus` beside it when it is there.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
