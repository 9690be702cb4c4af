// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "ocp-sessions",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "OCPSessions", targets: ["OCPSessions"]),
        .library(name: "KeycloakSimulator", targets: ["KeycloakSimulator"]),
        .executable(name: "ocp-sessions", targets: ["ocp-sessions"]),
        .executable(name: "ocp-bench", targets: ["ocp-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        // The PostgreSQL registry (issue 7); swift-log is postgres-nio's logger type.
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
    ],
    targets: [
        // The system libsqlite3 (Debian: libsqlite3-dev), wrapped by `OCPSessions/SQLite`; how it is
        // linked is set on `OCPSessions` below.
        .systemLibrary(
            name: "CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(name: "CSystemShims"),
        .target(
            name: "OCPSessions",
            dependencies: [
                "CSQLite",
                "CSystemShims",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // `Migrations` is a symlink to the top-level Migrations/ folder; embedding the files
            // in code keeps a copied binary self-contained (Bundle.module aborts without its folder).
            resources: [.embedInCode("Migrations")],
            // Release builds link Debian's libsqlite3.a (same package, same build of SQLite): the
            // shared library is linked with BIND_NOW, and resolving its ~1,600 symbols cost every
            // `ocp-sessions token` 1.15 M of its ~11 M instructions (docs/performance.md). Debug
            // builds (the tests) keep the shared library.
            linkerSettings: [
                .linkedLibrary(":libsqlite3.a", .when(platforms: [.linux], configuration: .release)),
                .linkedLibrary("sqlite3", .when(platforms: [.linux], configuration: .debug)),
                .linkedLibrary("sqlite3", .when(platforms: [.macOS])),
            ]
        ),
        .target(
            name: "KeycloakSimulator",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                // The optional TLS listener (end-to-end tests of --ca-file).
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .executableTarget(
            name: "ocp-sessions",
            dependencies: [
                "OCPSessions",
                "OCPSessionsPostgres",
                "KeycloakSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            // The static stdlib's link arguments export every symbol of the package's own objects
            // (31,000): each process start then pays for them in dynamic symbol lookups and in the
            // runtime's `dladdr` scan. Nothing looks them up (docs/performance.md).
            linkerSettings: [.unsafeFlags(["-Xlinker", "--no-export-dynamic"])]
        ),
        // Issue 6: the side-by-side benchmark (release build; see docs/performance.md).
        .executableTarget(
            name: "ocp-bench",
            dependencies: [
                "OCPSessions",
                // Phase 7: the registry on PostgreSQL beside SQLite.
                "OCPSessionsPostgres",
                "KeycloakSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // The registry on PostgreSQL for teams on several hosts (docs/postgres-design.md).
        .target(
            name: "OCPSessionsPostgres",
            dependencies: [
                "OCPSessions",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What both test targets need to restart the test cluster (posix_spawn of pg_ctl).
        .target(name: "PostgresTestControl", path: "Tests/PostgresTestControl"),
        .testTarget(
            name: "OCPSessionsPostgresTests",
            dependencies: ["OCPSessionsPostgres", "OCPSessions", "PostgresTestControl"]
        ),
        .testTarget(
            name: "OCPSessionsTests",
            // ocp-sessions for `token`'s fast parser against ArgumentParser (TokenFastParserTests).
            dependencies: ["OCPSessions", "OCPSessionsPostgres", "KeycloakSimulator", "ocp-sessions", "PostgresTestControl"],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
