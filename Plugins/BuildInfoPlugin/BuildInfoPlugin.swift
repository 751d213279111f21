import Foundation
import PackagePlugin

/// Writes `BuildInfo.swift` (the git commit the binary is built from) before every build of the `messenger` target,
/// through `scripts/build-info.sh`; the script rewrites the file only when the commit changed.
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) async throws -> [Command] {
        let output = context.pluginWorkDirectoryURL.appending(path: "generated")
        return [
            .prebuildCommand(
                displayName: "Recording the git commit in BuildInfo.swift",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: [
                    context.package.directoryURL.appending(path: "scripts/build-info.sh").path,
                    context.package.directoryURL.path,
                    output.appending(path: "BuildInfo.swift").path,
                ],
                outputFilesDirectory: output
            )
        ]
    }
}
