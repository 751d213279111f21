import Foundation

/// Finds the repository's `schema/` and `web/` folders: in the working directory, else above the executable
/// (`.build/<config>/messenger` lives two or three levels below the package root).
enum ResourceLocator {
    static func find(_ name: String) -> URL? {
        let fileManager = FileManager.default
        var candidates = [URL(fileURLWithPath: fileManager.currentDirectoryPath).appendingPathComponent(name)]
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<5 {
            candidates.append(directory.appendingPathComponent(name))
            directory = directory.deletingLastPathComponent()
        }
        var isDirectory: ObjCBool = false
        return candidates.first { fileManager.fileExists(atPath: $0.path, isDirectory: &isDirectory) && isDirectory.boolValue }
    }
}
