// swift-tools-version:5.3
// libFuzzer targets for the decoders of untrusted bytes (see Fuzz/README.md). A separate
// package because fuzz entry points do not link as executable targets of a tools-version 6
// manifest.
import PackageDescription

let package = Package(
    name: "archiverelay-fuzz",
    dependencies: [
        .package(name: "archiverelay", path: ".."),
        .package(name: "swift-nio", url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .target(name: "FuzzCommandParser", dependencies: [.product(name: "SMTPProtocol", package: "archiverelay")]),
        .target(name: "FuzzDataDecoder", dependencies: [
            .product(name: "SMTPProtocol", package: "archiverelay"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .target(name: "FuzzRecordCodec", dependencies: [
            .product(name: "ArchiveStore", package: "archiverelay"),
            .product(name: "DurableFiles", package: "archiverelay"),
        ]),
        .target(name: "FuzzExpiryList", dependencies: [
            .product(name: "ArchiveStore", package: "archiverelay"),
            .product(name: "DurableFiles", package: "archiverelay"),
        ]),
        .target(name: "FuzzBodyPacking", dependencies: [.product(name: "ArchiveStore", package: "archiverelay")]),
        .target(name: "FuzzQueueJournal", dependencies: [
            .product(name: "ForwardQueue", package: "archiverelay"),
            .product(name: "DurableFiles", package: "archiverelay"),
        ]),
        .target(name: "FuzzProxyHeader", dependencies: [
            .product(name: "SMTPProtocol", package: "archiverelay"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .target(name: "FuzzTraceStripping", dependencies: [.product(name: "RouteEngine", package: "archiverelay")]),
        .target(name: "FuzzSearchQuery", dependencies: [.product(name: "SearchQuery", package: "archiverelay")]),
        .target(name: "FuzzJournalReport", dependencies: [.product(name: "JournalReport", package: "archiverelay")]),
        .target(name: "FuzzMessageText", dependencies: [.product(name: "MessageText", package: "archiverelay")]),
        .target(name: "FuzzConfigDecoder", dependencies: [
            .product(name: "RelayConfiguration", package: "archiverelay"),
            .product(name: "ForwardQueue", package: "archiverelay"),
        ]),
    ]
)
