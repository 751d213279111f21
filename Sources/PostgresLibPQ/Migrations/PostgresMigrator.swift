import Foundation
import Logging

/// Applies versioned SQL files in order, each in its own transaction, and records them in `schema_migrations`.
///
/// Two processes migrating at once serialise on a PostgreSQL advisory lock, so each file is applied exactly once.
/// A file that changed after it was applied is an error, never a silent skip.
public struct PostgresMigrator: Sendable {
    public enum MigrationError: Error, CustomStringConvertible {
        case changedAfterApply(version: Int, name: String)
        case duplicateVersion(Int)
        case unreadableDirectory(String)
        /// The server rejected a migration's SQL; it was rolled back.
        case failed(version: Int, name: String, serverMessage: String)

        public var description: String {
            switch self {
            case .changedAfterApply(let version, let name):
                "migration \(version) (\(name)) was changed after it was applied; add a new migration instead"
            case .duplicateVersion(let version): "two migration files have version \(version)"
            case .unreadableDirectory(let path): "cannot read migrations from \(path)"
            case .failed(let version, let name, let message):
                "migration \(version) (\(name)) failed and was rolled back: \(message); fix that migration file (or the database) and start again"
            }
        }
    }

    /// Arbitrary constant shared by every process of this application: the advisory lock's key.
    static let lockKey: Int64 = 0x6d65_7373_656e_6772

    public let migrations: [PostgresMigration]
    let logger: Logger

    public init(migrations: [PostgresMigration], logger: Logger) throws {
        var seen = Set<Int>()
        for migration in migrations where !seen.insert(migration.version).inserted {
            throw MigrationError.duplicateVersion(migration.version)
        }
        self.migrations = migrations.sorted { $0.version < $1.version }
        self.logger = logger
    }

    /// Reads every `NNNN_name.sql` file in `directory`.
    public init(directory: URL, logger: Logger) throws {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else {
            throw MigrationError.unreadableDirectory(directory.path)
        }
        var migrations: [PostgresMigration] = []
        for fileName in names {
            guard let (version, name) = PostgresMigration.parseFileName(fileName) else { continue }
            let sql = try String(contentsOf: directory.appendingPathComponent(fileName), encoding: .utf8)
            migrations.append(PostgresMigration(version: version, name: name, sql: sql))
        }
        try self.init(migrations: migrations, logger: logger)
    }

    /// Applies what is missing; returns the versions applied by this call.
    @discardableResult
    public func migrate(pool: PostgresConnectionPool) async throws -> [Int] {
        try await pool.withConnection { connection in
            try await pool.query("SELECT pg_advisory_lock(\(Self.lockKey))", on: connection)
            do {
                let applied = try await self.applyMissing(pool: pool, connection: connection)
                try await pool.query("SELECT pg_advisory_unlock(\(Self.lockKey))", on: connection)
                return applied
            } catch {
                _ = try? await pool.query("SELECT pg_advisory_unlock(\(Self.lockKey))", on: connection)
                throw error
            }
        }
    }

    private func applyMissing(pool: PostgresConnectionPool, connection: PostgresConnection) async throws -> [Int] {
        try await pool.unsafeExecute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                checksum text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            on: connection
        )
        let rows = try await pool.query("SELECT version, checksum FROM schema_migrations", on: connection)
        var appliedChecksums: [Int: String] = [:]
        for row in rows {
            let (version, checksum) = try row.decode((Int, String).self)
            appliedChecksums[version] = checksum
        }
        var appliedNow: [Int] = []
        for migration in self.migrations {
            if let checksum = appliedChecksums[migration.version] {
                guard checksum == migration.checksum else {
                    throw MigrationError.changedAfterApply(version: migration.version, name: migration.name)
                }
                continue
            }
            self.logger.info("applying migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            try await pool.unsafeExecute("BEGIN", on: connection)
            do {
                try await pool.unsafeExecute(migration.sql, on: connection)
                try await pool.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))",
                    on: connection
                )
                try await pool.unsafeExecute("COMMIT", on: connection)
            } catch {
                _ = try? await pool.unsafeExecute("ROLLBACK", on: connection)
                // Name the file: "syntax error at or near …" alone does not say which of the files to fix.
                if let error = error as? PostgresError, error.kind == .server {
                    throw MigrationError.failed(version: migration.version, name: migration.name, serverMessage: error.serverMessage)
                }
                throw error
            }
            appliedNow.append(migration.version)
        }
        return appliedNow
    }
}
