// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "archiverelay",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "archiverelay", targets: ["archiverelay"]),
        .library(name: "SMTPProtocol", targets: ["SMTPProtocol"]),
        .library(name: "MessageIntake", targets: ["MessageIntake"]),
        .library(name: "SMTPListener", targets: ["SMTPListener"]),
        .library(name: "DurableFiles", targets: ["DurableFiles"]),
        .library(name: "ArchiveStore", targets: ["ArchiveStore"]),
        .library(name: "RouteEngine", targets: ["RouteEngine"]),
        .library(name: "ForwardQueue", targets: ["ForwardQueue"]),
        .library(name: "RelayConfiguration", targets: ["RelayConfiguration"]),
        .library(name: "AdminEndpoint", targets: ["AdminEndpoint"]),
        .library(name: "RelayPipeline", targets: ["RelayPipeline"]),
        .library(name: "JournalReport", targets: ["JournalReport"]),
        .library(name: "MessageText", targets: ["MessageText"]),
        .library(name: "SearchQuery", targets: ["SearchQuery"]),
        .library(name: "AuditTrail", targets: ["AuditTrail"]),
        .library(name: "Governance", targets: ["Governance"]),
        .library(name: "ObjectStorage", targets: ["ObjectStorage"]),
        .library(name: "ArchiveTier", targets: ["ArchiveTier"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        // No traits: the admin endpoint reads its settings from our TOML, not swift-configuration.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
    ],
    targets: [
        // Pure wire protocol shared by the listener and the forwarding client: NIOCore only.
        .target(
            name: "SMTPProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        // The NIO glue both kinds of session share: a task executor on a channel's event loop.
        .target(
            name: "SessionTransport",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        // What the listener hands on and what it asks of the next stage (envelope,
        // transaction, sink, outcome): no NIO beyond ByteBuffer, no TLS.
        .target(
            name: "MessageIntake",
            dependencies: ["SMTPProtocol", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(
            name: "SMTPListener",
            dependencies: [
                "SMTPProtocol",
                "MessageIntake",
                "SessionTransport",
                "DurableFiles",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // What the archive and the queue stand on: files written, synced and renamed in a
        // crash-safe order, the fault hook of the power-loss tests, the directory lock,
        // CRC32C and byte coding, named threads and the one lock type. Foundation only.
        .target(name: "DurableFiles"),
        // Exchange / Microsoft 365 journal reports: the streaming splitter that separates the
        // wrapped original from the report, the envelope part's grammar, the wrapper recipe
        // that rebuilds the report as received. Pure: no I/O; MessageText decodes the
        // envelope part's transfer encoding and charset.
        .target(name: "JournalReport", dependencies: ["MessageText"]),
        // What search indexes of a message: the streaming MIME parser that extracts header
        // fields, text (every charset to UTF-8, HTML to text) and attachment names, and the
        // term segmentation index and queries share. Pure: no I/O, no dependency.
        .target(name: "MessageText"),
        // The query language of `archive search` and the SQL it becomes over the search
        // database's schema (also here). Pure: no I/O, no SQLite.
        .target(name: "SearchQuery", dependencies: ["MessageText"]),
        .target(
            name: "ArchiveStore",
            dependencies: [
                "AuditTrail",
                "DurableFiles",
                "JournalReport",
                "MessageText",
                "SearchQuery",
                "CZstd",
                "CSQLite",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The audit log: who read or changed what, append-only and hash-chained, in the data
        // directory; every archive read, hold change, expiry, queue change and reload.
        .target(
            name: "AuditTrail",
            dependencies: ["DurableFiles", "OperatorText", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // Retention rules, legal holds and the expiry planner: what decides which originals
        // expiry removes (the removal itself is the archive's).
        .target(
            name: "Governance",
            dependencies: [
                "ArchiveStore",
                "AuditTrail",
                "DurableFiles",
                "RouteEngine",
                "SearchQuery",
                "SMTPProtocol",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "RouteEngine",
            dependencies: ["DurableFiles", "SMTPProtocol", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "ForwardQueue",
            dependencies: [
                "SMTPProtocol",
                "SessionTransport",
                "DurableFiles",
                "ArchiveStore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The configuration file: TOML decoding, every check (problems with their places),
        // the static loop check, and the listener, route and peer settings it turns into.
        // A library so the fuzz package can link it.
        .target(
            name: "RelayConfiguration",
            dependencies: [
                "DurableFiles",
                "LogFormats",
                "SMTPListener",
                "RouteEngine",
                "ForwardQueue",
                "ArchiveStore",
                "Governance",
                "ObjectStorage",
                "SearchQuery",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        // The route engine's per-message work between the listener and the stores: each
        // recipient routed once at RCPT, the loop verdict, queue admission, archive or
        // spool, the copies queued, the ack wait, and the reply for every outcome.
        .target(
            name: "RelayPipeline",
            dependencies: [
                "MessageIntake",
                "DurableFiles",
                "SMTPProtocol",
                "RouteEngine",
                "ArchiveStore",
                "ForwardQueue",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The admin HTTP endpoint's server on Hummingbird: the access policy (Host, Origin),
        // bearer tokens and their roles, the limits, TLS; the routes are the executable's.
        .target(
            name: "AdminEndpoint",
            dependencies: [
                "DurableFiles",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The S3 client the object-storage tier stands on: AWS Signature V4 on swift-crypto,
        // the bucket's operations (Object Lock included) on AsyncHTTPClient, S3's XML
        // errors parsed with FoundationXML (which links the system's libxml2).
        .target(
            name: "ObjectStorage",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // The object-storage tier: sealed segments (and the audit log, the holds) uploaded to
        // an S3 bucket under Object Lock, evicted past the local budget, read back by range,
        // restored. ArchiveStore knows nothing of S3: the tier hands it a reader.
        .target(
            name: "ArchiveTier",
            dependencies: [
                "ArchiveStore",
                "AuditTrail",
                "DurableFiles",
                "Governance",
                "ObjectStorage",
                "RelayConfiguration",
                "CSQLite",
                "SessionTransport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // sd_notify(3) spoken by hand: the datagrams of systemd's Type=notify (READY, RELOADING,
        // STOPPING, WATCHDOG) and the watchdog's settings. Foundation and swift-log only.
        .target(name: "ServiceNotify", dependencies: [.product(name: "Logging", package: "swift-log")]),
        // The log formats of `serve` as swift-log handlers: text, JSON lines, journald's
        // priority prefixes, and the JOURNAL_STREAM check that picks journald.
        .target(name: "LogFormats", dependencies: [.product(name: "Logging", package: "swift-log")]),
        // What the operator tools print and parse, kept out of the executable so its tests
        // can reach it: terminal-safe text and the command-line time forms.
        .target(name: "OperatorText"),
        .executableTarget(
            name: "archiverelay",
            dependencies: [
                "OperatorText",
                "LogFormats",
                "ServiceNotify",
                "DurableFiles",
                "SMTPListener",
                "ArchiveStore",
                "AuditTrail",
                "RouteEngine",
                "ForwardQueue",
                "RelayConfiguration",
                "AdminEndpoint",
                "RelayPipeline",
                "JournalReport",
                "SearchQuery",
                "Governance",
                "ArchiveTier",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // What the test suites share: temporary directories, file helpers, free ports, the
        // one wait (`eventually`, `patience`), child processes, the test certificates.
        .target(name: "TestSupport", path: "Tests/Support/TestSupport"),
        // A moto S3 server on loopback for a test (started, its user and keys made, stopped
        // with the test process), and boto3 as the oracle of what the bucket holds.
        .target(name: "TestMoto", dependencies: ["TestSupport"], path: "Tests/Support/TestMoto", exclude: ["Scripts"]),
        // A seeded random number generator for reproducible random tests.
        .target(name: "TestRandom", path: "Tests/Support/TestRandom"),
        // A disk that loses every write no sync covered, for the power-loss tables.
        .target(name: "TestPowerLoss", dependencies: ["ArchiveStore", "DurableFiles"], path: "Tests/Support/PowerLoss"),
        .testTarget(
            name: "SMTPProtocolTests",
            dependencies: [
                "SMTPProtocol",
                "TestRandom",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SMTPListenerTests",
            dependencies: [
                "SMTPListener",
                "MessageIntake",
                "SMTPProtocol",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            exclude: ["Interop/smtplib_client.py"]
        ),
        .testTarget(
            name: "RouteEngineTests",
            dependencies: ["RouteEngine", "SMTPProtocol", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "JournalReportTests",
            dependencies: ["JournalReport", "TestRandom", "TestSupport"],
            exclude: ["Oracle/make_reports.py"]
        ),
        .testTarget(
            name: "MessageTextTests",
            dependencies: ["MessageText", "CSQLite", "TestRandom", "TestSupport"],
            exclude: ["Oracle"]
        ),
        .testTarget(
            name: "ArchiveStoreTests",
            dependencies: ["ArchiveStore", "AuditTrail", "DurableFiles", "TestPowerLoss", "TestRandom", "TestSupport", .product(name: "NIOPosix", package: "swift-nio"),
                           .product(name: "MetricsTestKit", package: "swift-metrics")],
            exclude: ["Oracle"]
        ),
        .testTarget(
            name: "ForwardQueueTests",
            dependencies: [
                "ForwardQueue",
                "ArchiveStore",
                "DurableFiles",
                "SMTPProtocol",
                "TestPowerLoss",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Scripts"]
        ),
        // The configuration checks, against the examples and docs/CONFIG.md too.
        .testTarget(
            name: "ArchiveRelayTests",
            dependencies: ["ArchiveStore", "ForwardQueue", "Governance", "JournalReport", "LogFormats", "OperatorText", "RelayConfiguration", "RouteEngine", "SMTPListener",
                           "SMTPProtocol", "TestSupport", .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "RelayPipelineTests",
            dependencies: [
                "RelayPipeline", "ArchiveStore", "ForwardQueue", "MessageIntake", "RouteEngine", "SMTPProtocol", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "AdminEndpointTests",
            dependencies: [
                "AdminEndpoint",
                "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The query parser's tables, and queries run on a small search database in memory.
        .testTarget(name: "SearchQueryTests", dependencies: ["SearchQuery", "MessageText", "CSQLite", "TestRandom"]),
        // The retention table (rules x ages x holds -> expired or kept) on small archives.
        .testTarget(
            name: "GovernanceTests",
            dependencies: ["Governance", "ArchiveStore", "AuditTrail", "JournalReport", "RouteEngine", "SMTPProtocol", "TestSupport",
                           .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The audit log's chain: every kind of tampering, torn lines, appends from many threads.
        .testTarget(name: "AuditTrailTests", dependencies: ["AuditTrail", "DurableFiles", "TestSupport"]),
        // SigV4 against AWS's vectors and botocore; the S3 client against moto.
        .testTarget(
            name: "ObjectStorageTests",
            dependencies: ["ObjectStorage", "TestMoto", "TestSupport", .product(name: "NIOCore", package: "swift-nio"),
                           .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["Scripts"]
        ),
        // The log handlers' lines and the sd_notify datagrams, without a node.
        .testTarget(
            name: "ArchiveTierTests",
            dependencies: ["ArchiveTier", "ArchiveStore", "Governance", "ObjectStorage", "RelayConfiguration", "TestMoto", "TestSupport",
                           .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
                           .product(name: "NIOPosix", package: "swift-nio")]
        ),
        .testTarget(name: "ServiceIntegrationTests", dependencies: ["LogFormats", "ServiceNotify", "TestSupport",
                                                                    .product(name: "Logging", package: "swift-log")]),
        // The shared test helpers' own checks.
        .testTarget(name: "TestSupportTests", dependencies: ["TestSupport"]),
        // End-to-end: drives the built archiverelay binary as child processes.
        .testTarget(
            name: "NodeTests",
            dependencies: [
                "ArchiveTier",
                "ObjectStorage",
                "RouteEngine",
                "SMTPProtocol",
                "TestMoto",
                "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            exclude: ["Scripts"]
        ),
    ]
)
