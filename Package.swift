// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Wharf",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "wharf", targets: ["wharf"]),
        .library(name: "SFTPProtocol", targets: ["SFTPProtocol"]),
        .library(name: "WharfServer", targets: ["WharfServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssh.git", from: "0.15.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
    ],
    targets: [
        // Pure protocol codec: bytes in, values out.
        .target(
            name: "SFTPProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        // Pure FTP codec: command lines, replies, host-port arguments, listings, the command table.
        .target(
            name: "FTPProtocol",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        // Storage abstraction, the home jail, errors and their protocol mapping.
        .target(
            name: "WharfCore",
            dependencies: [
                "CSystemShims",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // POSIX storage: every blocking call runs on a thread pool, never on an event loop.
        .target(
            name: "WharfStorage",
            dependencies: [
                "WharfCore", "CSystemShims",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The user database: SQLite, scrypt password hashes, authorized keys.
        .target(
            name: "WharfUsers",
            dependencies: [
                "CSystemShims",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),
        // One SFTP session: handle table, dispatch table, no sockets.
        .target(
            name: "SFTPServer",
            dependencies: [
                "SFTPProtocol", "WharfCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // C calls the Swift Glibc module lacks (mallopt, openat2, preadv2, statfs, sysinfo).
        .target(name: "CSystemShims"),
        // One FTP control connection and its data connections: the session state machine, the
        // command table's dispatch, passive/active data connections, AUTH TLS and implicit TLS.
        .target(
            name: "FTPServer",
            dependencies: [
                "FTPProtocol", "WharfCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // SSH transport protection (ciphers and MACs) for server and client, encrypting each packet
        // in place: AES-GCM on swift-crypto's BoringSSL, AES-CTR on the system OpenSSL.
        .target(
            name: "SSHCiphers",
            dependencies: [
                "COpenSSL",
                "CBoringSSLAEAD",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSH", package: "swift-nio-ssh"),
                .product(name: "Crypto", package: "swift-crypto"),
                // Links swift-crypto's BoringSSL on every platform (Crypto alone does not on Apple's).
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),
        // NIOSSH glue: host keys, authentication, the "sftp" subsystem.
        .target(
            name: "SSHTransport",
            dependencies: [
                "SFTPProtocol", "SFTPServer", "SSHCiphers", "WharfCore", "WharfStorage", "WharfUsers",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSH", package: "swift-nio-ssh"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The client: SSH connection, host keys, SFTP requests, pipelined transfers.
        .target(
            name: "WharfClient",
            dependencies: [
                "SFTPProtocol", "FTPProtocol", "SSHCiphers", "WharfTLS", "WharfCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSH", package: "swift-nio-ssh"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Composition: configuration, services, the stdio sftp-server.
        .target(
            name: "WharfServer",
            dependencies: [
                "SFTPProtocol", "SFTPServer", "SSHTransport", "FTPServer", "WharfCore", "WharfStorage", "WharfUsers",
                "CSystemShims",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSH", package: "swift-nio-ssh"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // BoringSSL's AEAD calls, declared for the copy swift-crypto links in (see its shim.h).
        .systemLibrary(name: "CBoringSSLAEAD"),
        // The system OpenSSL (libssl-dev) for WharfTLS: client TLS with session resumption, which NIOSSL lacks.
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]
        ),
        // A TLS client channel handler on OpenSSL memory BIOs: FTPS data connections resume the
        // control connection's session (vsftpd's require_ssl_reuse, FileZilla Server, ProFTPD).
        .target(
            name: "WharfTLS",
            dependencies: [
                "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "wharf",
            dependencies: [
                "WharfServer", "WharfUsers", "SFTPServer", "FTPServer", "FTPProtocol", "WharfClient", "WharfTLS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SFTPProtocolTests",
            dependencies: [
                "SFTPProtocol", "WharfCore", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "FTPProtocolTests",
            dependencies: ["FTPProtocol", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(
            name: "WharfCoreTests",
            dependencies: [
                "WharfCore", "WharfStorage",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SFTPServerTests",
            dependencies: [
                "SFTPServer", "SFTPProtocol", "WharfCore", "WharfStorage",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "WharfClientTests",
            dependencies: [
                "WharfClient", "SFTPProtocol", "SFTPServer", "WharfCore", "WharfStorage",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSH", package: "swift-nio-ssh"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "FTPServerTests",
            dependencies: [
                "FTPServer", "FTPProtocol", "WharfCore", "WharfStorage",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "WharfServerTests",
            dependencies: [
                "WharfServer",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "WharfUsersTests",
            dependencies: ["WharfUsers"]
        ),
        .testTarget(
            name: "SSHCiphersTests",
            dependencies: [
                "SSHCiphers",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOSSH", package: "swift-nio-ssh"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "WharfTLSTests",
            dependencies: [
                "WharfTLS",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
