import DBStream
import Foundation

/// `setup:rollback -d`: streams the SQL file into the server.
enum DatabaseRestore {
    static func run(config: DatabaseConfig, file: String, threads: Int) throws {
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CommandError("Cannot open \(file): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let stats = try SQLRestorer(config: config, options: RestoreOptions(threads: threads)).restore(fromFD: fd, path: file)
        Console.detail("\(stats)")
    }
}
