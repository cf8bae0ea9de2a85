// swift-tools-version:6.0
import PackageDescription

// revsd: what prompt made this image?
//
// Layout (see ../shared/STYLE.md): thin executables, one testable library
// (`Indexer`), a sibling library for the inference engine (`Inference`), and C
// only at the edge, as `.systemLibrary` modules with a `shim.h`.
/// The engine and the library are compiled optimised in every configuration:
/// the debug test suite runs real models over hundreds of images and trains
/// heads, and unoptimised SIMD and training loops are 10–20× slower (a
/// caption took 2 s instead of 0.1 s). `-enable-testing` still comes with
/// debug builds, so @testable imports keep working.
let optimizedEvenInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "revsd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "revsdd", targets: ["revsdd"]),
        .executable(name: "revsdctl", targets: ["revsdctl"]),
        .library(name: "Indexer", targets: ["Indexer"]),
        .library(name: "Inference", targets: ["Inference"]),
        .library(name: "SyntheticImages", targets: ["SyntheticImages"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // C at the edge.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
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
        .target(name: "Inference", dependencies: ["CBLAS"], swiftSettings: optimizedEvenInDebug),

        // Learnable synthetic images: drawn shapes whose prompts say exactly what
        // is drawn, written as PNG with or without A1111 parameters (tests, bench).
        .target(name: "SyntheticImages", dependencies: ["CZlib"], swiftSettings: optimizedEvenInDebug),

        // Everything the product does that can be tested.
        .target(name: "Indexer", dependencies: [
            "Inference", "CZlib", "CSystemd", "CSocket", "CPNG", "CTurboJPEG", "CWebP",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "GRDB", package: "GRDB.swift"),
        ], swiftSettings: optimizedEvenInDebug),

        .executableTarget(name: "revsdctl", dependencies: [
            "Indexer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "revsdd", dependencies: [
            "Indexer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Benchmark driver (bench/minilm.sh); not installed.
        .executableTarget(name: "revsd-bench", dependencies: ["Indexer", "SyntheticImages"], path: "bench/Sources/revsd-bench"),

        // Golden files are read beside the test sources (#filePath), not bundled.
        .testTarget(name: "InferenceTests", dependencies: ["Inference"], exclude: ["Golden"]),
        .testTarget(name: "IndexerTests", dependencies: ["Indexer", "Inference", "CZlib", "SyntheticImages"], exclude: ["Golden", "Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
