import DBStream
import Foundation
import ObjectStore
import ParallelGzip

/// Every bound one command runs with, named as the README's "Limits and resources" table names
/// it. Each pool's `rule` is that table's text, made from the same constants and functions the
/// pools are built with; `inUse` is what the rule gives on this machine. `-v` prints both, and
/// LimitsTableTests fails when the README's table and these rules part.
struct CommandLimits {
    struct Pool: Equatable {
        let name: String
        let rule: String
        let inUse: String
    }

    let resources: ResourceLimits
    let pools: [Pool]

    /// `setup:backup`'s pools: the tree pipeline and compression, and the dump's connections.
    static func backup(compression: CompressionOptions, resources: ResourceLimits = .current) -> CommandLimits {
        let tree = TreeBackup.pipelineLimits(resources)
        let batches = max(2, tree.queuedEntries / ReadAheadBatching.maxFiles)
        let threads = compression.effectiveThreads
        let dump = DumpOptions(threads: min(threads, DatabaseBackup.maxConnections))
        let upload = MultipartUpload.Limits()
        return CommandLimits(resources: resources, pools: [
            Pool(name: "directory walker",
                 rule: "min(\(TreeBackup.maxWalkerThreads), (RLIMIT_NOFILE − 16) / 4) threads, one open directory each (plus one held per folder of over \(count(LargeFolderListing.threshold)) entries on the walk's stack); at most \(count(DirectoryWalker.listingsAhead)) directory listings and \(DirectoryWalker.entriesAhead >> 10)k entries read ahead, sibling folders listed \(DirectoryWalker.foldersPerJob) to a job; a folder the walk reaches before a thread has started it is listed by the walk itself",
                 inUse: "\(tree.walkerThreads) threads"),
            Pool(name: "file read-ahead",
                 rule: "min(\(TreeBackup.maxReaderThreads), (RLIMIT_NOFILE − 16) / 4) threads, one open file each; file contents held ahead of the tar writer in one \(bytes(TreeBackup.readAheadBytes)) ring allocated at start (files over \(bytes(TreeBackup.readAheadMaxFile)) are streamed)",
                 inUse: "\(tree.readerThreads) threads, \(bytes(tree.prefetchBytes)) ring"),
            Pool(name: "entries between walker and tar writer",
                 rule: "\(batches) batches of up to \(ReadAheadBatching.maxFiles) entries and \(bytes(ReadAheadBatching.maxBytes)) of read-ahead each: one ring block, one reader job and one hand-off per batch",
                 inUse: "\(batches) batches"),
            Pool(name: "compression",
                 rule: "one thread per core (or `--jobs`); a pool of 2 × threads + 2 chunks (\(bytes(CompressionOptions().effectiveChunkSize)) each; never over \(bytes(ArchiveSettings.compressionBudget)): with many cores threads are dropped, and with `--jobs` given chunks shrink to 1 MiB first); the tar writer blocks when it is empty; one 4 MiB aligned buffer for direct output",
                 inUse: "\(threads) threads, \(compression.poolSlots) chunks of \(bytes(compression.effectiveChunkSize)), \(bytes(ParallelCompressor.memoryBound(compression))) of buffers"),
            Pool(name: "SQL dump",
                 rule: "min(threads, \(DatabaseBackup.maxConnections)) connections; connections × (\(dump.queueDepth) + 1) + 1 chunks of \(bytes(dump.chunkBytes)); INSERTs of at most \(bytes(dump.maxStatementBytes))",
                 inUse: "\(dump.threads) connections, \(dump.threads * (dump.queueDepth + 1) + 1) chunks"),
            Pool(name: "object store upload",
                 rule: "with `--target`: parts of \(bytes(upload.partSize)), \(upload.partsInFlight) in flight, each on its own connection; \(upload.partsInFlight + 1) part buffers allocated once",
                 inUse: "\(bytes((upload.partsInFlight + 1) * upload.partSize)) of part buffers when used"),
        ])
    }

    /// `setup:rollback`'s pools; `jobs` is `--jobs` or the core count.
    static func rollback(jobs: Int, resources: ResourceLimits = .current) -> CommandLimits {
        let writers = TreeRestore.writerThreads(resources)
        let extractor = ArchiveExtractor.Options()
        let restore = RestoreOptions(threads: jobs)
        let download = RangedDownload.Limits()
        return CommandLimits(resources: resources, pools: [
            Pool(name: "decompression",
                 rule: "one thread per core (or `--jobs`); 2 × threads + 2 members of at most \(bytes(GzipMemberFormat.parallelLimit)) in flight",
                 inUse: "\(jobs) threads, \(bytes(ParallelDecompressor.memoryBound(threads: jobs))) of buffers"),
            Pool(name: "rollback writers",
                 rule: "min(max(2, 2 × cores), (RLIMIT_NOFILE − 16) / 2, RLIMIT_NPROC / 4) threads, one open file each; \(bytes(extractor.bufferBytes)) of bodies in flight (each file counted as at least \(ArchiveExtractor.minimumCharge) bytes)",
                 inUse: "\(writers) threads"),
            Pool(name: "removing the old tree",
                 rule: "min(2 × cores, \(TreeRemover.maxThreads), (RLIMIT_NOFILE − 16) / 2, RLIMIT_NPROC / 4) threads, one open folder each",
                 inUse: "\(TreeRemover.threads(resources)) threads"),
            Pool(name: "object store download",
                 rule: "with an `s3://` archive: ranged GETs growing from 1 MiB to \(bytes(download.rangeSize)), \(download.rangesInFlight) in flight, each on its own connection and retried from its start up to \(download.attemptsPerRange) times; \(download.rangesInFlight + 1) range buffers allocated once",
                 inUse: "\(bytes((download.rangesInFlight + 1) * download.rangeSize)) of range buffers when used"),
            Pool(name: "SQL restore",
                 rule: "one connection per core (or `--jobs`), at most \(RestoreOptions.maxThreads), plus one for the schema; \(restore.queueDepth) statements queued per connection and \(bytes(RestoreOptions.queuedBytesLimit)) of statements queued or running in all",
                 inUse: "\(restore.threads) + 1 connections"),
        ])
    }

    /// The `-v` lines: the resource limits, then each pool.
    func printDetails() {
        Console.detail("limits: \(resources.summary)")
        for p in pools { Console.detail("limit: \(p.name): \(p.inUse) (\(p.rule))") }
    }

    private static func bytes(_ n: Int) -> String {
        if n % (1 << 20) == 0 { return "\(n >> 20) MiB" }
        if n < 2 << 20 { return "\(count(n >> 10)) KiB" }
        return String(format: "%.1f MiB", Double(n) / Double(1 << 20))
    }

    private static func count(_ n: Int) -> String {
        n >= 10_000 ? String(n / 1000) + "," + String(format: "%03d", n % 1000) : String(n)
    }
}
