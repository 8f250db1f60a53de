// swift-tools-version:6.1
// Micro-benchmarks (issue 6) with package-benchmark: `swift package benchmark` from this
// folder. A separate package so the main package's `swift test` neither resolves nor
// builds the benchmark tooling.
import PackageDescription

let package = Package(
    name: "archiverelay-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "archiverelay", path: ".."),
        // The versions the main package resolves.
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // MallocInterposer alone (it gives the malloc counts): the default traits add
        // RuntimeInterposer, whose package (swift-runtime-interposer) does not resolve here.
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // Corpus loading and the tmpfs store fixture shared by the benchmark executables.
        .target(name: "BenchmarkSupport", dependencies: [
            .product(name: "ArchiveStore", package: "archiverelay"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Not a micro-benchmark: the leanest SMTP sink NIO allows, run by bench/nio_floor.sh.
        .executableTarget(name: "NIOFloorSink", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
    ]
)

/// One package-benchmark executable per area, in Benchmarks/<name>/.
func benchmark(_ name: String, _ dependencies: [Target.Dependency]) -> Target {
    .executableTarget(
        name: name,
        dependencies: [.product(name: "Benchmark", package: "benchmark"), "BenchmarkSupport"] + dependencies,
        path: "Benchmarks/\(name)",
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
}

package.targets += [
    benchmark("SMTPParsing", [
        .product(name: "SMTPProtocol", package: "archiverelay"),
        .product(name: "NIOCore", package: "swift-nio"),
    ]),
    benchmark("DataCoding", [
        .product(name: "SMTPProtocol", package: "archiverelay"),
        .product(name: "NIOCore", package: "swift-nio"),
    ]),
    benchmark("RecordEncoding", [
        .product(name: "ArchiveStore", package: "archiverelay"),
        .product(name: "NIOCore", package: "swift-nio"),
    ]),
    benchmark("Hashing", [.product(name: "Crypto", package: "swift-crypto")]),
    benchmark("GroupCommit", [
        .product(name: "ArchiveStore", package: "archiverelay"),
        .product(name: "NIOCore", package: "swift-nio"),
    ]),
]
