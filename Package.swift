// swift-tools-version:6.0
import PackageDescription

// The libraries run their pipelines on threads with explicit locks and unsafe
// buffers at the C boundary. Swift 5 language mode (set at the bottom) keeps
// that code readable without an @unchecked Sendable box around every pointer.
let swiftSettings: [SwiftSetting] = []

let package = Package(
    name: "fastbackup",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "fastbackup", targets: ["fastbackup"]),
        .library(name: "StreamTar", targets: ["StreamTar"]),
        .library(name: "ParallelGzip", targets: ["ParallelGzip"]),
        .library(name: "DBStream", targets: ["DBStream"]),
    ],
    targets: [
        // One system-library target per C library (Debian -dev package as provider).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CISAL", pkgConfig: "libisal", providers: [.apt(["libisal-dev"])]),
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(name: "CMariaDB", pkgConfig: "libmariadb", providers: [.apt(["libmariadb-dev"])]),
        // Headers only: libcurl itself is loaded with dlopen on first use (see its shim.h).
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CCrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),

        // The system-call layer under every other target: Errno, FileDescriptor with the one EINTR
        // loop, getdents64 directory listing. No Foundation, so ParallelGzip keeps its start-up time.
        .target(name: "SystemCalls", swiftSettings: swiftSettings),
        // The concurrency kit every pipeline is built from: one monitor, one way to start a named
        // thread, one bounded queue, the ordered outbox, the worker pool, budgets, the buffer ring.
        .target(name: "ThreadKit", dependencies: ["SystemCalls"], swiftSettings: swiftSettings),
        .target(name: "StreamTar", dependencies: ["SystemCalls"], swiftSettings: swiftSettings),
        .target(name: "ParallelGzip", dependencies: ["SystemCalls", "ThreadKit", "CZlib", "CZstd", "CISAL", "CDeflate"], swiftSettings: swiftSettings),
        .target(name: "DBStream", dependencies: ["SystemCalls", "ThreadKit", "CMariaDB"], swiftSettings: swiftSettings),
        // S3-compatible object storage: Signature V4 (libcrypto), HTTP (libcurl), parallel
        // multipart upload from a pipe and parallel ranged download into one.
        .target(name: "ObjectStore", dependencies: ["SystemCalls", "ThreadKit", "CCurl", "CCrypto"], swiftSettings: swiftSettings),
        .executableTarget(name: "fastbackup", dependencies: ["SystemCalls", "ThreadKit", "StreamTar", "ParallelGzip", "DBStream", "ObjectStore"], swiftSettings: swiftSettings),
        // Benchmark driver for ParallelGzip (Benchmarks/compression/run.sh builds and runs it).
        .executableTarget(name: "pgzip-bench", dependencies: ["ParallelGzip"], path: "Benchmarks/compression/pgzip-bench", swiftSettings: swiftSettings),

        // What every test target shares: the seeded generator and temporary folders.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "SystemCallsTests", dependencies: ["SystemCalls"]),
        .testTarget(name: "ThreadKitTests", dependencies: ["ThreadKit", "TestSupport"]),
        .testTarget(name: "StreamTarTests", dependencies: ["StreamTar", "SystemCalls", "TestSupport"]),
        .testTarget(name: "ParallelGzipTests", dependencies: ["ParallelGzip", "TestSupport"]),
        .testTarget(name: "DBStreamTests", dependencies: ["DBStream", "TestSupport"]),
        .testTarget(name: "ObjectStoreTests", dependencies: ["ObjectStore", "TestSupport"]),
        .testTarget(name: "fastbackupTests", dependencies: ["fastbackup", "ObjectStore", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
