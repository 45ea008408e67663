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
/// killed run is found. An archive with a tree record (TreeRecord) must hold exactly the
/// entries its record gives it, the record's hash must be the index's, and an incremental's
/// chain must be whole (every link present, with the record hash the chain names).
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
        /// An archive with a tree record: the backups a rollback reads, oldest first (just
        /// itself for a full backup).
        var chain: [String]?
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
        var filter: HolderFilter?
        if S3Location.object(archive) == nil {
            do {
                let record = try RecordReader(archive: archive)
                guard record.header.kind == kind else {
                    report.damage = "its tree record is of a \(record.header.kind.rawValue) tree, not \(kind.rawValue)"
                    return
                }
                let chain = try BackupChain.resolve(archive, header: record.header)
                report.chain = chain.paths.map { ($0 as NSString).lastPathComponent }
                filter = HolderFilter(record: record, holder: record.header.selfHolder, archiveName: report.file)
            } catch let error as RecordError where error.kind == .absent && !BackupKind.isIncremental(fileName: report.file) {
                // An older archive, or another tool's: nothing to check it against.
            } catch {
                report.damage = "\(error)"
                return
            }
        }
        let input = try ArchiveInput(archive, settings: settings)
        var lastEntry: String?
        do {
            let decompressor = try ParallelDecompressor(inputFD: input.fd, path: archive, threads: threads)
            let reader = TarReader(source: decompressor)
            while let header = try reader.next() {
                if let filter, let rel = TreeRecord.path(ofEntry: header.name.bytes, kind: kind), !filter.wants(rel) {
                    throw StoreError(.refused, "the entry '\(header.name.description)' is not in the archive's tree record as one of its own")
                }
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
            try decompressor.readToEnd()
            try input.finish()
            try filter?.finish()
        } catch {
            let cause = input.failureBehind(error)
            report.damage = "\(cause)" + (lastEntry.map { " (after the entry '\($0)')" } ?? " (before the first entry)")
        }
    }

    private func verifyDump(_ dump: String, report: inout Report) throws {
        let input = try DumpInput(dump, settings: settings, keepTail: true)
        var readerError: Error?
        do {
            let splitter = SQLStatementSplitter(fd: input.fd, path: dump)
            while let statement = try splitter.next() {
                report.entries += 1
                report.bytes += Int64(statement.text.count)
            }
        } catch {
            readerError = error
        }
        do { try input.finish(readerError: readerError) } catch {
            report.damage = "\(error) (after statement \(report.entries))"
            return
        }
        let lines = String(decoding: input.tail, as: UTF8.self).split(separator: "\n")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if !(lines.last?.hasPrefix("-- Dump completed") ?? false) {
            report.damage = "the dump does not end with its completion line ('-- Dump completed'): it was cut short (\(report.entries) statements read)"
        }
    }
}
