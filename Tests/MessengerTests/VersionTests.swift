import Foundation
import Testing

/// `messenger --version`: the release version and the git commit the binary was built from.
@Suite struct VersionTests {
    @Test func versionNamesTheCommitItWasBuiltFrom() async throws {
        let exit = try await ServerProcess.runToExit(["--version"])
        #expect(exit.status == 0)
        let line = exit.lastLine
        #expect(line.hasPrefix("messenger 0.12.0 (commit "), "\(line)")
        let commit = line.split(separator: " ").last.map { String($0.dropLast()) } ?? ""
        let hash = commit.split(separator: "-").first.map(String.init) ?? ""
        #expect(hash.count == 40 && hash.allSatisfy(\.isHexDigit), "\(line)")
        // The package's own checkout: the binary under test was built from it.
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["git", "-C", URL(fileURLWithPath: #filePath).deletingLastPathComponent().path, "rev-parse", "HEAD"]
        let pipe = Pipe()
        git.standardOutput = pipe
        try git.run()
        git.waitUntilExit()
        let head = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(hash == head, "the binary was built from \(hash), HEAD is \(head): rebuild (swift build) after committing")
    }
}
