// swift-tools-version:6.0
import PackageDescription

// Release builds leave out the run-time exclusivity checks (swift_beginAccess on every access
// to a class's stored property): the daemons' loops touch class properties on every packet, and
// the checks were a measurable share of both daemons' instructions (figures in
// docs/performance-history.md). Debug builds, which the unit and end-to-end tests of
// Scripts/test.sh run, keep them, so an overlapping access still traps there.
let releaseWithoutExclusivityChecks: SwiftSetting = .unsafeFlags(
    ["-enforce-exclusivity=unchecked"], .when(configuration: .release))

let package = Package(
    name: "tcpcopy-swift",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "tcpcopy", targets: ["tcpcopy"]),
        .executable(name: "intercept", targets: ["intercept"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // --metrics-listen: swift-metrics' API, served in the Prometheus text format.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // System libraries, found through pkg-config; the providers name Debian's packages.
        .systemLibrary(
            name: "CNetfilterQueue", pkgConfig: "libnetfilter_queue",
            providers: [.apt(["libnetfilter-queue-dev"])]),
        .systemLibrary(name: "CMNL", pkgConfig: "libmnl", providers: [.apt(["libmnl-dev"])]),
        .systemLibrary(name: "CIPTC", pkgConfig: "libiptc", providers: [.apt(["libiptc-dev"])]),
        // ip6tables' legacy tables; libiptc-dev depends on libip6tc-dev.
        .systemLibrary(name: "CIP6TC", pkgConfig: "libip6tc", providers: [.apt(["libip6tc-dev"])]),
        // Link-layer capture (-i) and capture files (--offline).
        .systemLibrary(name: "CPcap", pkgConfig: "libpcap", providers: [.apt(["libpcap-dev"])]),
        // C functions for the macros, packed structs and callbacks Swift cannot use directly.
        .target(name: "CTCPCopyShims", dependencies: ["CNetfilterQueue", "CMNL", "CIPTC", "CIP6TC"]),
        // Pure logic: no Glibc, no C module, no syscalls.
        .target(
            name: "TCPCopyCore",
            // The hot path calls the core's generic parsing and engines from TCPCopyIO; without
            // cross-module optimisation they run unspecialised there (metadata lookups, witness
            // tables) on every packet (docs/performance-history.md).
            swiftSettings: [.unsafeFlags(["-cross-module-optimization"]), releaseWithoutExclusivityChecks]),
        // Every syscall and C call, and the two daemons wiring the core to them.
        .target(
            name: "TCPCopyIO",
            dependencies: [
                "TCPCopyCore", "CTCPCopyShims", "CMNL", "CNetfilterQueue", "CIPTC", "CIP6TC", "CPcap",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: [releaseWithoutExclusivityChecks]),
        // The two command lines (swift-argument-parser), kept out of the executables so that
        // tests can parse every form.
        .target(
            name: "TCPCopyCLI",
            dependencies: [
                "TCPCopyCore", "TCPCopyIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(name: "tcpcopy", dependencies: ["TCPCopyCLI"]),
        .executableTarget(name: "intercept", dependencies: ["TCPCopyCLI"]),
        .testTarget(name: "TCPCopyCoreTests", dependencies: ["TCPCopyCore"]),
        .testTarget(name: "TCPCopyCLITests", dependencies: ["TCPCopyCLI", "TCPCopyCore"]),
        // The I/O layer's own logic over socketpairs and epoll: no root, no namespaces.
        .testTarget(
            name: "TCPCopyIOTests",
            dependencies: ["TCPCopyIO", "TCPCopyCore", .product(name: "Logging", package: "swift-log")]),
        // The C walk over netlink buffers from the kernel, fed malformed and cut messages.
        .testTarget(name: "CTCPCopyShimsTests", dependencies: ["CTCPCopyShims"]),
    ]
)

// libFuzzer targets, for Scripts/fuzz.sh only: they need -sanitize=fuzzer (which supplies main),
// so an ordinary build must not see them. TCPCOPY_FUZZ=1 adds them.
if Context.environment["TCPCOPY_FUZZ"] == "1" {
    package.targets += [
        .executableTarget(name: "FuzzPacketParser", dependencies: ["TCPCopyCore"]),
        .executableTarget(name: "FuzzControlDecoder", dependencies: ["TCPCopyCore"]),
    ]
}

// The engine's per-packet benchmark, for Scripts/bench/engine.sh only (it runs under callgrind):
// an ordinary build has no use for it. TCPCOPY_BENCH=1 adds it.
if Context.environment["TCPCOPY_BENCH"] == "1" {
    package.targets += [
        // libm: the core rounds doubles (ceil); the daemons get it through their other imports.
        // CTCPCopyShims: the CPU's CRC-32C, as the daemons install it (ReporterBench).
        .executableTarget(
            name: "EngineBench", dependencies: ["TCPCopyCore", "CTCPCopyShims"], linkerSettings: [.linkedLibrary("m")])
    ]
}
