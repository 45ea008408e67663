// Dumps one database to a file with SQLDumper, or loads a file with SQLRestorer, and prints the stats.
// Usage: dbstream-dump --socket PATH --user U --password P --database NAME --out FILE [--threads N]
//        dbstream-dump --socket PATH --user U --password P --database NAME --restore FILE [--threads N] [--spread yes|no]
import DBStream
import Foundation

let usage = "usage: dbstream-dump --socket PATH --user U --password P --database NAME (--out FILE | --restore FILE) [--threads N] [--spread yes|no] [--defer-keys yes|no] [--load yes|no]\n"
var args: [String: String] = [:]
var it = CommandLine.arguments.dropFirst().makeIterator()
while let a = it.next() {
    guard a.hasPrefix("--"), let v = it.next() else {
        FileHandle.standardError.write(usage.data(using: .utf8)!)
        exit(2)
    }
    args[String(a.dropFirst(2))] = v
}
let config = DatabaseConfig(host: "localhost", socket: args["socket"], user: args["user"] ?? "root",
                            password: args["password"] ?? "", database: args["database"] ?? "")
let threads = Int(args["threads"] ?? "2") ?? 2
do {
    if let input = args["restore"] {
        let fd = open(input, O_RDONLY)
        guard fd >= 0 else { perror(input); exit(1) }
        let options = RestoreOptions(threads: threads, spreadTables: args["spread"] != "no",
                                     deferSecondaryKeys: args["defer-keys"] != "no", loadData: args["load"] != "no")
        let s = try SQLRestorer(config: config, options: options).restore(fromFD: fd, path: input)
        close(fd)
        print("statements=\(s.statements) data=\(s.dataStatements) tables=\(s.tables) bytes=\(s.bytes) spread=\(s.spreadStatements) deferredKeys=\(s.tablesWithDeferredKeys) loaded=\(s.loadedStatements) perConnection=\(s.statementsPerConnection)")
    } else {
        let out = args["out"] ?? "/dev/stdout"
        let fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { perror(out); exit(1) }
        let stats = try SQLDumper(config: config, options: DumpOptions(threads: threads)).dump(to: fd, path: out)
        close(fd)
        print("tables=\(stats.tables) rows=\(stats.rows) bytes=\(stats.bytes) statements=\(stats.insertStatements) connections=\(stats.connections) snapshot=\(stats.snapshot.rawValue)")
    }
} catch {
    FileHandle.standardError.write("dbstream-dump: \(error)\n".data(using: .utf8)!)
    exit(1)
}
