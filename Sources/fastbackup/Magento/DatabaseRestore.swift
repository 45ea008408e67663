import DBStream
import SystemCalls
import Foundation
import ObjectStore
import ThreadKit
import ParallelGzip

/// `setup:rollback -d`: streams the SQL file into the server.
///
/// The file may be plain SQL, gzip under a `.sql` name (Magento's own `setup:backup --db`
/// writes it through PHP's `compress.zlib://` stream at level 9, and its rollback reads it back
/// through zlib's transparent read), or `.sql.gz` / `.sql.zst` as `--compression` writes it; a
/// local file or an object (``DumpInput``).
enum DatabaseRestore {
    /// - Parameter asWritten: no LOAD DATA rows and no held-back keys (``RestoreOptions``).
    static func run(config: DatabaseConfig, file: String, threads: Int, asWritten: Bool = false,
                    objectStore: S3Settings? = nil) throws {
        let restorer = SQLRestorer(config: config, options: RestoreOptions(threads: threads, deferSecondaryKeys: !asWritten,
                                                                          loadData: !asWritten))
        let input = try DumpInput(file, settings: objectStore)
        let result = Result { try restorer.restore(fromFD: input.fd, path: file) }
        var readerError: Error?
        if case .failure(let error) = result { readerError = error }
        try input.finish(readerError: readerError)
        Console.detail("\(try result.get())")
    }
}
