import ArgumentParser
import Foundation
import Logging
import PostgresLibPQ

/// Where the database is: `DATABASE_URL`, else the embedded cluster in the data folder.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL or key=value string (env DATABASE_URL). Without it an embedded PostgreSQL runs in --data-dir.")
    var databaseURL: String?

    @Option(help: "Folder for the embedded PostgreSQL cluster and the generated token key.")
    var dataDir: String = ".messenger-data"

    @Option(help: "Folder with the versioned SQL migrations (default: ./schema, or next to the executable's package).")
    var schemaDir: String?

    var resolvedDatabaseURL: String? {
        if let databaseURL, !databaseURL.isEmpty { return databaseURL }
        if let env = ProcessInfo.processInfo.environment["DATABASE_URL"], !env.isEmpty { return env }
        return nil
    }

    var dataDirectory: URL {
        URL(fileURLWithPath: self.dataDir, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath)).standardizedFileURL
    }

    func schemaDirectory() throws -> URL {
        if let schemaDir { return URL(fileURLWithPath: schemaDir) }
        guard let found = ResourceLocator.find("schema") else {
            throw ValidationError("cannot find the schema/ folder: pass --schema-dir")
        }
        return found
    }

    /// The database to use: `DATABASE_URL`, else the embedded cluster, started if needed. `stop` stops the
    /// cluster when this call started it.
    func open(logger: Logger) throws -> (configuration: PostgresConfiguration, stop: @Sendable () -> Void) {
        if let url = self.resolvedDatabaseURL {
            return (PostgresConfiguration(url: url), {})
        }
        let cluster = EmbeddedPostgres(dataDirectory: self.dataDirectory, logger: logger)
        let started = try cluster.start()
        return (cluster.configuration, { if started { try? cluster.stop() } })
    }
}
