import ArgumentParser
import Foundation
import Logging
import PostgresLibPQ

/// `messenger migrate`: apply the pending schema migrations and exit.
struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending schema migrations (also done by serve at start).")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        do {
            try await self.migrate()
        } catch {
            throw StartupFailure.report(error, database: StartupFailure.databaseLabel(self.database.resolvedDatabaseURL))
        }
    }

    private func migrate() async throws {
        let logger = Logger(label: "messenger")
        let (configuration, stopDatabase) = try self.database.open(logger: logger)
        defer { stopDatabase() }
        let pool = PostgresConnectionPool(configuration: configuration, maximumConnections: 2, logger: logger)
        do {
            let applied = try await PostgresMigrator(directory: try self.database.schemaDirectory(), logger: logger).migrate(pool: pool)
            print(applied.isEmpty ? "database is up to date" : "applied migrations: \(applied.map(String.init).joined(separator: ", "))")
        } catch {
            await pool.shutdown()
            throw error
        }
        await pool.shutdown()
    }
}
