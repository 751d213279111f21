// swift-tools-version:6.0
// The HTTP floor of this machine: a bare Hummingbird server (see scripts/http-floor.sh).
import PackageDescription

let package = Package(
    name: "http-floor",
    platforms: [.macOS(.v14)],
    dependencies: [.package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1")],
    targets: [.executableTarget(name: "http-floor", dependencies: [.product(name: "Hummingbird", package: "hummingbird")])]
)
