// Dumps one database to a file with SQLDumper and prints its stats.
// Usage: dbstream-dump --socket PATH --user U --password P --database NAME --out FILE [--threads N]
import DBStream
import Foundation

var args: [String: String] = [:]
var it = CommandLine.arguments.dropFirst().makeIterator()
while let a = it.next() {
    guard a.hasPrefix("--"), let v = it.next() else {
        FileHandle.standardError.write("usage: dbstream-dump --socket PATH --user U --password P --database NAME --out FILE [--threads N]\n".data(using: .utf8)!)
        exit(2)
    }
    args[String(a.dropFirst(2))] = v
}
let config = DatabaseConfig(host: "localhost", socket: args["socket"], user: args["user"] ?? "root",
                            password: args["password"] ?? "", database: args["database"] ?? "")
let out = args["out"] ?? "/dev/stdout"
let fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
guard fd >= 0 else { perror(out); exit(1) }
do {
    let stats = try SQLDumper(config: config, options: DumpOptions(threads: Int(args["threads"] ?? "2") ?? 2)).dump(to: fd, path: out)
    close(fd)
    print("tables=\(stats.tables) rows=\(stats.rows) bytes=\(stats.bytes) statements=\(stats.insertStatements) connections=\(stats.connections) snapshot=\(stats.snapshot.rawValue)")
} catch {
    FileHandle.standardError.write("dbstream-dump: \(error)\n".data(using: .utf8)!)
    exit(1)
}
