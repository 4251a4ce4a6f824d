// swift-tools-version:6.0
// Host build of Keel's pure logic (Kernel/Core) and its XCTest suite.
// The kernel itself is built by the Makefile with the Embedded Swift compiler;
// the same Core sources go into both, which is how the allocators are tested on a laptop.
import PackageDescription

let package = Package(
    name: "Keel",
    products: [.library(name: "KeelCore", targets: ["KeelCore"])],
    targets: [
        .target(name: "KeelCore", path: "Kernel/Core"),
        .testTarget(name: "KeelCoreTests", dependencies: ["KeelCore"], path: "Tests/KeelCoreTests"),
        // `make bench`: the allocators against glibc malloc, in release mode.
        .executableTarget(name: "KeelBench", dependencies: ["KeelCore"], path: "tools/bench"),
    ]
)
