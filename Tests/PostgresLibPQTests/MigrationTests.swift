import Foundation
import PostgresLibPQ
import PostgresTestSupport
import Testing

@Suite("Schema migrations")
struct MigrationTests {
    let migrations = [
        PostgresMigration(version: 1, name: "first", sql: "CREATE TABLE a (id int); INSERT INTO a VALUES (1);"),
        PostgresMigration(version: 2, name: "second", sql: "CREATE TABLE b (id int); INSERT INTO a VALUES (2);"),
    ]

    @Test("migrating twice applies each file once")
    func idempotent() async throws {
        let pool = try await BindRoundTripTests.pool()
        defer { Task { await pool.shutdown() } }
        let migrator = try PostgresMigrator(migrations: self.migrations, logger: TestCluster.logger)
        #expect(try await migrator.migrate(pool: pool) == [1, 2])
        #expect(try await migrator.migrate(pool: pool) == [])
        #expect(try await pool.query("SELECT count(*)::int FROM a").first!.decode(Int.self, at: 0) == 2)
    }

    @Test("two concurrent migrate runs apply each file exactly once")
    func concurrent() async throws {
        let database = try await TestCluster.shared.freshDatabase()
        let slow = self.migrations + [PostgresMigration(version: 3, name: "slow", sql: "SELECT pg_sleep(0.3); INSERT INTO a VALUES (3);")]
        let pools = (0..<3).map { _ in PostgresConnectionPool(configuration: database, maximumConnections: 2, logger: TestCluster.logger) }
        defer { for pool in pools { Task { await pool.shutdown() } } }
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for pool in pools {
                group.addTask { try await PostgresMigrator(migrations: slow, logger: TestCluster.logger).migrate(pool: pool) }
            }
            var all: [Int] = []
            for try await versions in group { all += versions }
            return all.sorted()
        }
        #expect(applied == [1, 2, 3])
        #expect(try await pools[0].query("SELECT count(*)::int FROM a").first!.decode(Int.self, at: 0) == 3)
    }

    @Test("a file changed after it was applied is an error")
    func changedFile() async throws {
        let pool = try await BindRoundTripTests.pool()
        defer { Task { await pool.shutdown() } }
        try await PostgresMigrator(migrations: self.migrations, logger: TestCluster.logger).migrate(pool: pool)
        var changed = self.migrations
        changed[0].sql += " -- edited"
        await #expect(throws: PostgresMigrator.MigrationError.self) {
            try await PostgresMigrator(migrations: changed, logger: TestCluster.logger).migrate(pool: pool)
        }
    }

    @Test("a failing migration rolls back whole")
    func failing() async throws {
        let pool = try await BindRoundTripTests.pool()
        defer { Task { await pool.shutdown() } }
        let broken = [PostgresMigration(version: 1, name: "broken", sql: "CREATE TABLE c (id int); SELECT no_such_function();")]
        let error = await #expect(throws: PostgresMigrator.MigrationError.self) {
            try await PostgresMigrator(migrations: broken, logger: TestCluster.logger).migrate(pool: pool)
        }
        // The error names the file and carries the server's reason.
        #expect(error?.description.hasPrefix("migration 1 (broken) failed") == true)
        #expect(error?.description.contains("no_such_function") == true)
        #expect(try await pool.query("SELECT to_regclass('c') IS NULL").first!.decode(Bool.self, at: 0))
    }

    @Test("the repository's schema applies cleanly")
    func repositorySchema() async throws {
        let pool = try await BindRoundTripTests.pool()
        defer { Task { await pool.shutdown() } }
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../schema").standardizedFileURL
        let migrator = try PostgresMigrator(directory: directory, logger: TestCluster.logger)
        #expect(try await migrator.migrate(pool: pool).count == migrator.migrations.count)
        #expect(migrator.migrations.count >= 4)
    }
}
