// swift-tools-version: 6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Aerie",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "aerie", targets: ["aerie"]),
        .executable(name: "aerie-bench", targets: ["AerieBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // System libraries (Debian: libcrypt-dev, libsodium-dev).
        .systemLibrary(name: "CCrypt", path: "Sources/CCrypt"),
        .systemLibrary(name: "CSodium", path: "Sources/CSodium", pkgConfig: "libsodium"),
        .systemLibrary(name: "CAerieSystem", path: "Sources/CAerieSystem"),
        // OpenLDAP's client library (Debian: libldap-dev).
        .systemLibrary(name: "CLDAP", path: "Sources/CLDAP", pkgConfig: "ldap"),
        // QR codes for `aerie adm totp enroll` (Debian: libqrencode-dev).
        .systemLibrary(name: "CQRencode", path: "Sources/CQRencode", pkgConfig: "libqrencode"),
        .systemLibrary(name: "CSeccomp", path: "Sources/CSeccomp", pkgConfig: "libseccomp"),

        .target(name: "AerieCore", swiftSettings: strict),
        .target(name: "AerieConfig", dependencies: ["AerieCore"], swiftSettings: strict),
        .target(
            name: "IMAPProtocol",
            dependencies: ["AerieCore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strict
        ),
        .target(
            name: "ProxyProtocol",
            dependencies: ["AerieCore"],
            swiftSettings: strict
        ),
        .target(
            name: "SASL", dependencies: ["AerieCore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        .target(name: "AerieMIME", dependencies: ["AerieCore"], swiftSettings: strict),
        .target(name: "POP3Protocol", dependencies: ["AerieCore"], swiftSettings: strict),
        .target(name: "LMTPProtocol", dependencies: ["AerieCore"], swiftSettings: strict),
        .target(
            name: "AerieStorage",
            dependencies: ["AerieCore", "AerieMIME", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        .target(
            name: "AerieLDAP",
            dependencies: ["CLDAP", .product(name: "NIOPosix", package: "swift-nio")],
            swiftSettings: strict
        ),
        .target(
            name: "AerieAuth",
            dependencies: [
                "AerieCore", "AerieConfig", "SASL", "CCrypt", "CSodium", "AerieLDAP",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "AerieObservability",
            dependencies: ["AerieCore", "CAerieSystem"],
            swiftSettings: strict
        ),
        .target(
            name: "LoginCommon",
            dependencies: ["AerieCore", "AerieAuth", "SASL"],
            swiftSettings: strict
        ),
        .target(
            name: "IMAPSession",
            dependencies: [
                "AerieCore", "IMAPProtocol", "AerieAuth", "SASL", "AerieStorage", "AerieMIME", "LoginCommon",
            ],
            swiftSettings: strict
        ),
        .target(
            name: "POP3Session",
            dependencies: ["AerieCore", "POP3Protocol", "AerieAuth", "SASL", "AerieStorage", "LoginCommon"],
            swiftSettings: strict
        ),
        .target(
            name: "LMTPSession",
            dependencies: ["AerieCore", "LMTPProtocol", "AerieAuth", "AerieStorage"],
            swiftSettings: strict
        ),
        .target(
            name: "AerieServer",
            dependencies: [
                "AerieCore", "AerieConfig", "AerieAuth", "AerieLDAP", "AerieObservability", "IMAPProtocol",
                "IMAPSession", "SASL",
                "AerieStorage", "CAerieSystem", "POP3Protocol", "POP3Session", "LMTPProtocol", "LMTPSession",
                "ProxyProtocol", "CSeccomp",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "aerie",
            dependencies: [
                "AerieCore", "AerieConfig", "AerieAuth", "AerieServer", "AerieObservability", "CQRencode",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),

        // The load generator for bench/ (never part of the tests).
        .executableTarget(
            name: "AerieBench",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "bench/Sources/AerieBench",
            swiftSettings: strict
        ),
        // Times the first open of a mailbox in a fresh process (a restarted server) against a warm one.
        .executableTarget(
            name: "IndexOpenTiming",
            dependencies: ["AerieStorage"],
            path: "bench/Sources/IndexOpenTiming",
            swiftSettings: strict
        ),

        // libFuzzer entry points: swift build --product FuzzX --sanitize=fuzzer
        .executableTarget(name: "FuzzIMAPParser", dependencies: ["IMAPProtocol"], path: "Fuzz/IMAPParser"),
        .executableTarget(name: "FuzzConfigParser", dependencies: ["AerieConfig"], path: "Fuzz/ConfigParser"),
        .executableTarget(name: "FuzzMIMEParser", dependencies: ["AerieMIME"], path: "Fuzz/MIMEParser"),
        .executableTarget(name: "FuzzPOP3LMTPParser", dependencies: ["POP3Protocol", "LMTPProtocol"], path: "Fuzz/POP3LMTPParser"),
        .executableTarget(name: "FuzzProxyHeader", dependencies: ["ProxyProtocol"], path: "Fuzz/ProxyHeader"),

        // Helpers shared by the test targets (temporary directories, an in-memory log); never part of a product.
        .target(name: "AerieTestSupport", dependencies: ["AerieCore"], path: "Tests/AerieTestSupport", swiftSettings: strict),

        .testTarget(name: "POP3ProtocolTests", dependencies: ["POP3Protocol", "AerieTestSupport"], swiftSettings: strict),
        .testTarget(name: "LMTPProtocolTests", dependencies: ["LMTPProtocol", "AerieTestSupport"], swiftSettings: strict),
        .testTarget(name: "AerieCoreTests", dependencies: ["AerieCore"], swiftSettings: strict),
        .testTarget(name: "ProxyProtocolTests", dependencies: ["ProxyProtocol", "AerieCore"], swiftSettings: strict),
        .testTarget(name: "AerieMIMETests", dependencies: ["AerieMIME"], swiftSettings: strict),
        .testTarget(name: "AerieStorageTests", dependencies: ["AerieStorage", "AerieTestSupport"], swiftSettings: strict),
        .testTarget(name: "AerieConfigTests", dependencies: ["AerieConfig", "AerieTestSupport"], swiftSettings: strict),
        .testTarget(name: "IMAPProtocolTests", dependencies: ["IMAPProtocol", "AerieTestSupport"], swiftSettings: strict),
        .testTarget(name: "AerieLDAPTests", dependencies: ["AerieLDAP"], swiftSettings: strict),
        .testTarget(name: "AerieAuthTests", dependencies: ["AerieAuth", "AerieLDAP", "SASL", "AerieTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "IMAPSessionTests",
            dependencies: ["IMAPSession", "AerieAuth", "AerieCore", "AerieStorage", "AerieTestSupport"],
            swiftSettings: strict),
        .testTarget(name: "LoginCommonTests", dependencies: ["LoginCommon"], swiftSettings: strict),
        .testTarget(name: "POP3SessionTests", dependencies: ["POP3Session", "AerieStorage", "AerieTestSupport"], swiftSettings: strict),
        .testTarget(name: "LMTPSessionTests", dependencies: ["LMTPSession", "AerieStorage", "AerieTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "AerieServerTests",
            dependencies: [
                "AerieServer", "AerieAuth", "AerieObservability", "AerieTestSupport", "ProxyProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
