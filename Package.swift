// swift-tools-version:6.0
import PackageDescription

// revsd: what prompt made this image?
//
// Layout (see ../shared/STYLE.md): thin executables; the inference engine
// (`Inference`); one library target per concern of the product, each naming
// only the targets below it; C only at the edge, as `.systemLibrary` modules
// with a `shim.h`.
/// Where the hot loops live (the engine, image preprocessing, the heads'
/// training) code is compiled optimised in every configuration: the debug
/// test suite runs real models over hundreds of images and trains heads, and
/// unoptimised SIMD and training loops are 10–20× slower (a caption took 2 s
/// instead of 0.1 s). The daemon's own code stays debuggable. `-enable-testing`
/// still comes with debug builds, so @testable imports keep working.
let optimizedEvenInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "revsd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "revsdd", targets: ["revsdd"]),
        .executable(name: "revsdctl", targets: ["revsdctl"]),
        .executable(name: "revsd-web", targets: ["revsd-web"]),
        .library(name: "Inference", targets: ["Inference"]),
        .library(name: "SyntheticImages", targets: ["SyntheticImages"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // C at the edge.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .systemLibrary(name: "CSystemd", path: "Sources/CSystemd", pkgConfig: "libsystemd",
                       providers: [.apt(["libsystemd-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSocket", path: "Sources/CSocket"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CTurboJPEG", path: "Sources/CTurboJPEG", pkgConfig: "libturbojpeg",
                       providers: [.apt(["libturbojpeg0-dev"])]),
        .systemLibrary(name: "CWebP", path: "Sources/CWebP", pkgConfig: "libwebpdemux",
                       providers: [.apt(["libwebp-dev"])]),

        // The inference engine: tensors over mmap'd safetensors, BLAS kernels,
        // tokenizers and the transformer encoder. No I/O policy, no product logic.
        .target(name: "Inference", dependencies: ["CBLAS", "CDNNL", "InferenceAVX2"], swiftSettings: optimizedEvenInDebug),
        // The few kernels compiled for AVX2 (x86-64 only; Swift takes the
        // target features from the Clang importer's flags). Inference calls
        // them only where the CPU has AVX2, so the binaries still run on any x86-64.
        .target(name: "InferenceAVX2", swiftSettings: [.unsafeFlags(["-O", "-Xcc", "-mavx2"])]),

        // Learnable synthetic images: drawn shapes whose prompts say exactly what
        // is drawn, written as PNG with or without A1111 parameters (tests, bench).
        .target(name: "SyntheticImages", dependencies: ["CZlib"], swiftSettings: optimizedEvenInDebug),

        // The product, one target per concern, along its layers (lowest
        // first). A target names only what it needs, so a leak across a
        // layer is a compile error rather than a convention.

        // Syscalls (EINTR retried, errors naming the call and the path),
        // systemd, hashing, atomic file writes, line splitting.
        .target(name: "RevsdSystem", dependencies: [
            "CSystemd", "CSocket", .product(name: "Logging", package: "swift-log"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Generation metadata readers: bytes in, metadata out (fuzzable alone).
        .target(name: "Metadata", dependencies: ["RevsdSystem", "CZlib"]),
        // Image decoding (bounded, bytes in) and Pillow-exact preprocessing.
        .target(name: "Imaging", dependencies: ["RevsdSystem", "CPNG", "CTurboJPEG", "CWebP"],
                swiftSettings: optimizedEvenInDebug),
        // The paper's heads: pure numerics over Inference/BLAS on a training set it owns.
        .target(name: "Learning", dependencies: ["Inference", "CBLAS", "RevsdSystem"],
                swiftSettings: optimizedEvenInDebug),
        // The SQLite index (GRDB): images, embeddings, jobs, learning state.
        .target(name: "Store", dependencies: [
            "RevsdSystem", "Metadata", "Learning", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        // Installed models: pinned fetch, wheels, legacy checkpoints, registry, image encoders.
        .target(name: "Models", dependencies: ["RevsdSystem", "Inference", "Imaging", "CZlib"]),
        // One file in, what revsd says about it out: decode, metadata, encoders, zero-shot.
        .target(name: "Analysis", dependencies: ["RevsdSystem", "Inference", "Imaging", "Metadata", "Models"]),
        // The in-memory search matrix (exact when small, two-pass codes when large).
        .target(name: "Search", dependencies: ["Inference", "CBLAS"], swiftSettings: optimizedEvenInDebug),
        // inotify.
        .target(name: "Watch", dependencies: ["RevsdSystem"]),
        // The control protocol's types and client, shared by revsdd, revsdctl and every client.
        .target(name: "RevsdProtocol", dependencies: ["RevsdSystem", "CSocket"]),
        // The daemon's services: indexing, learning, the control server, configuration.
        .target(name: "Daemon", dependencies: [
            "RevsdSystem", "Inference", "Metadata", "Imaging", "Learning", "Store", "Models", "Analysis",
            "Search", "Watch", "RevsdProtocol",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),

        // The web page over the daemon (revsd-web): routes, HTML, the token
        // and CSRF checks, and a backend that talks only to the control socket.
        .target(name: "Gallery", dependencies: [
            "RevsdSystem", "RevsdProtocol", "Daemon",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),

        .executableTarget(name: "revsd-web", dependencies: [
            "Gallery",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "revsdctl", dependencies: [
            "RevsdSystem", "Metadata", "Imaging", "Learning", "Models", "Analysis", "RevsdProtocol", "Daemon",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "revsdd", dependencies: [
            "RevsdSystem", "RevsdProtocol", "Daemon", "Models", "Analysis", "Store", "Learning", "Search",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),
        // Benchmark driver (bench/minilm.sh); not installed.
        .executableTarget(name: "revsd-bench", dependencies: ["RevsdSystem", "Inference", "Metadata", "Imaging", "Learning", "Store", "Models", "Analysis", "Search", "Daemon", "SyntheticImages",
                                                           .product(name: "GRDB", package: "GRDB.swift")], path: "bench/Sources/revsd-bench"),

        // libFuzzer targets (bench/fuzz.sh builds them with -sanitize=fuzzer
        // -DREVSD_FUZZ); a plain build makes replayers of saved inputs.
        .systemLibrary(name: "CFuzzer", path: "Fuzz/CFuzzer"),
        .executableTarget(name: "MetadataFuzz", dependencies: ["Metadata", "CFuzzer"], path: "Fuzz/MetadataFuzz"),
        .executableTarget(name: "ProtocolFuzz", dependencies: ["RevsdProtocol", "CFuzzer"], path: "Fuzz/ProtocolFuzz"),

        // Golden files are read beside the test sources (#filePath), not bundled.
        .testTarget(name: "InferenceTests", dependencies: ["Inference"], exclude: ["Golden"]),
        .testTarget(name: "IndexerTests", dependencies: [
            "RevsdSystem", "Inference", "Metadata", "Imaging", "Learning", "Store", "Models", "Analysis", "Search",
            "Watch", "RevsdProtocol", "Daemon", "CZlib", "SyntheticImages",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], exclude: ["Golden", "Fixtures"]),
        .testTarget(name: "GalleryTests", dependencies: [
            "Gallery", "RevsdSystem", "RevsdProtocol", "SyntheticImages",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
