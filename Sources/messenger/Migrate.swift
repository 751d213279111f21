import ArgumentParser
import Foundation
import Logging
import PostgresLibPQ

/// `messenger migrate`: apply the pending schema migrations and exit.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending schema migrations (also done by serve at start).")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let logger = Logger(label: "messenger")
        var embedded: EmbeddedPostgres?
        var started = false
        let configuration: PostgresConfiguration
        if let url = self.database.resolvedDatabaseURL {
            configuration = PostgresConfiguration(url: url)
        } else {
            let cluster = EmbeddedPostgres(dataDirectory: self.database.dataDirectory, logger: logger)
            started = try cluster.start()
            embedded = cluster
            configuration = cluster.configuration
        }
        let pool = PostgresConnectionPool(configuration: configuration, maximumConnections: 2, logger: logger)
        do {
            let applied = try await PostgresMigrator(directory: try self.database.schemaDirectory(), logger: logger).migrate(pool: pool)
            print(applied.isEmpty ? "database is up to date" : "applied migrations: \(applied.map(String.init).joined(separator: ", "))")
        } catch {
            await pool.shutdown()
            if started { try? embedded?.stop() }
            throw error
        }
        await pool.shutdown()
        if started { try embedded?.stop() }
    }
}
