import DBStream
import Foundation
import ObjectStore
import ParallelGzip
import StreamTar

/// Reads a backup the way a rollback would and writes nothing: whether it would restore.
///
/// Archives: every gzip member (or zstd frame) inflated by the parallel decompressor, which
/// checks each CRC-32 and length; the tar stream parsed to its end-of-archive blocks, every
/// body read through; then the compressed stream read to its end, so the last member is
/// checked too. A code archive's manifest must parse and say `code`. Dumps: every statement
/// split as the restore splits it, and the completion line the dump writes last (fastbackup's
/// and mariadb-dump's `-- Dump completed`) present, so a dump cut short by a full disk or a
/// killed run is found.
struct BackupVerifier {
    struct Report: Encodable {
        let file: String
        let type: String
        var ok = false
        /// Tar entries (archives) or SQL statements (dumps) read.
        var entries = 0
        /// Bytes after decompression (archives) or of the file (dumps).
        var bytes: Int64 = 0
        /// The first damage found, naming where (member offset, entry, statement).
        var damage: String?
    }

    let settings: S3Settings?
    let threads: Int

    /// Verifies `archive` (a path or `s3://` URL) of `kind`.
    func verify(_ archive: String, kind: BackupKind) -> Report {
        var report = Report(file: (archive as NSString).lastPathComponent, type: kind.rawValue)
        do {
            switch kind {
            case .code, .media: try verifyArchive(archive, kind: kind, report: &report)
            case .db: try verifyDump(archive, report: &report)
            }
            report.ok = report.damage == nil
        } catch {
            if report.damage == nil { report.damage = "\(error)" }
        }
        return report
    }

    private func verifyArchive(_ archive: String, kind: BackupKind, report: inout Report) throws {
        let input = try ArchiveInput(archive, settings: settings)
        var lastEntry: String?
        do {
            let decompressor = try ParallelDecompressor(inputFD: input.fd, path: archive, threads: threads)
            let reader = TarReader(source: decompressor)
            while let header = try reader.next() {
                if report.entries == 0, kind == .code, header.name.description == BackupManifest.archivePath {
                    guard header.size <= Int64(BackupManifest.maximumSize) else {
                        throw StoreError(.refused, "\(BackupManifest.archivePath) is \(header.size) bytes; a backup manifest is at most \(BackupManifest.maximumSize)")
                    }
                    let manifest = try BackupManifest.parse(try reader.readWholeBody(size: Int(header.size)))
                    guard manifest.kind == .code else {
                        throw StoreError(.refused, "\(BackupManifest.archivePath) says this is a \(manifest.kind.rawValue) backup")
                    }
                }
                report.entries += 1
                report.bytes += header.size
                lastEntry = header.name.description
            }
            // Past the end-of-archive blocks: the rest of the compressed stream, so the last
            // member's CRC and length are checked, as a rollback checks them.
            let sink = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
            defer { sink.deallocate() }
            while try decompressor.read(into: sink) > 0 {}
            try input.finish()
        } catch {
            let cause = input.failureBehind(error)
            report.damage = "\(cause)" + (lastEntry.map { " (after the entry '\($0)')" } ?? " (before the first entry)")
        }
    }

    private func verifyDump(_ dump: String, report: inout Report) throws {
        let input = try ArchiveInput(dump, settings: settings)
        do {
            let splitter = SQLStatementSplitter(fd: input.fd, path: dump)
            while let statement = try splitter.next() {
                report.entries += 1
                report.bytes += Int64(statement.text.count)
            }
            try input.finish()
        } catch {
            report.damage = "\(input.failureBehind(error)) (after statement \(report.entries))"
            return
        }
        let tail = try Self.tail(of: dump, settings: settings)
        let lines = tail.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if !(lines.last?.hasPrefix("-- Dump completed") ?? false) {
            report.damage = "the dump does not end with its completion line ('-- Dump completed'): it was cut short (\(report.entries) statements read)"
        }
    }

    /// The last 4 KiB of a dump, as text: from the file, or a ranged GET of the object.
    private static func tail(of dump: String, settings: S3Settings?) throws -> String {
        let want: Int64 = 4096
        if let (location, name) = S3Location.object(dump), let settings {
            let client = try S3Client(settings: settings)
            guard let size = try client.head(location.bucket, location.key(name))?.size else { return "" }
            var bytes: [UInt8] = []
            if size > 0 {
                try client.get(location.bucket, location.key(name), range: max(0, size - want)..<size) { bytes += $0; return true }
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        let fd = open(dump, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StoreError.call("Cannot open \(dump)", "open", path: dump) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StoreError.call("Cannot read \(dump)", "fstat", path: dump) }
        let start = max(0, Int64(st.st_size) - want)
        var bytes = [UInt8](repeating: 0, count: Int(Int64(st.st_size) - start))
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, off_t(start)) }
        return String(decoding: bytes.prefix(max(0, n)), as: UTF8.self)
    }
}
