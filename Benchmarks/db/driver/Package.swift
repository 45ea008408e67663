// swift-tools-version:6.0
import PackageDescription

// A tiny command-line driver around DBStream's SQLDumper, for dump-bench.sh.
let package = Package(
    name: "dbstream-dump",
    dependencies: [.package(name: "fastbackup", path: "../../..")],
    targets: [
        .executableTarget(name: "dbstream-dump", dependencies: [.product(name: "DBStream", package: "fastbackup")]),
    ],
    swiftLanguageModes: [.v5]
)
