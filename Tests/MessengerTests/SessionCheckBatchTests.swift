import Foundation
import PostgresLibPQ
import PostgresTestSupport
import Synchronization
import Testing

@testable import MessengerApp

/// Session checks that miss the cache are read in batches (`Authenticator+SessionChecks`), against the real
/// database: the first read is held at a gate so that the checks asked meanwhile are known to wait for the next one.
@Suite("Session checks in batches")
struct SessionCheckBatchTests {
    /// The real repository, recording each batched read and holding the first at a gate until the test opens it.
    final class GatedUsers: UserRepository {
        let inner: PostgresUserRepository
        let sessionReads = FirstReadGate<[UUID]>()

        init(_ inner: PostgresUserRepository) {
            self.inner = inner
        }

        func validSessions(of sessions: [(sessionID: UUID, userID: Int64)]) async throws -> [UUID: Int64] {
            await self.sessionReads.enter(sessions.map(\.sessionID))
            return try await self.inner.validSessions(of: sessions)
        }

        func create(username: String, passwordHash: String?) async throws -> UserRecord? {
            try await self.inner.create(username: username, passwordHash: passwordHash)
        }
        func find(username: String) async throws -> UserRecord? { try await self.inner.find(username: username) }
        func find(id: Int64) async throws -> UserRecord? { try await self.inner.find(id: id) }
        func findOrCreate(username: String) async throws -> UserRecord { try await self.inner.findOrCreate(username: username) }
        func search(prefix: String, excluding userID: Int64, limit: Int) async throws -> [String] {
            try await self.inner.search(prefix: prefix, excluding: userID, limit: limit)
        }
        func createSession(userID: Int64, expiresAt: Date) async throws -> UUID {
            try await self.inner.createSession(userID: userID, expiresAt: expiresAt)
        }
        func validSessions(among ids: [UUID]) async throws -> Set<UUID> { try await self.inner.validSessions(among: ids) }
        func extendSession(sessionID: UUID, expiresAt: Date) async throws {
            try await self.inner.extendSession(sessionID: sessionID, expiresAt: expiresAt)
        }
        func revokeSession(sessionID: UUID) async throws { try await self.inner.revokeSession(sessionID: sessionID) }
    }

    @Test("the batched session check answers each session rightly and is planned once per connection, not per batch")
    func sessionCheckKeepsOnePlan() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        // One connection, so that its prepared statements are the ones the reads used.
        let pool = PostgresConnectionPool(configuration: server.database, maximumConnections: 1, logger: TestCluster.logger)
        defer { Task { await pool.shutdown() } }
        let postgres = PostgresUserRepository(pool: pool)
        let expiry = Date().addingTimeInterval(3600)
        var sessions: [(sessionID: UUID, userID: Int64)] = []
        for n in 0..<6 {
            let user = try await postgres.findOrCreate(username: uniqueName("plan\(n)"))
            sessions.append((try await postgres.createSession(userID: user.id, expiresAt: expiry), user.id))
        }
        try await postgres.revokeSession(sessionID: sessions[5].sessionID)
        let good = Dictionary(uniqueKeysWithValues: sessions[0..<5].map { ($0.sessionID, $0.userID) })
        // Sessions of many other logins, and statistics that know them (as on a server that has run for a while).
        try await pool.query(
            """
            INSERT INTO sessions (id, user_id, expires_at)
            SELECT gen_random_uuid(), \(sessions[0].userID), now() + interval '1 hour' FROM generate_series(1, 2000)
            """)
        try await pool.query("ANALYZE sessions")
        // Batches of one to four, as checks that miss the cache make them; one of them revoked, one presented with
        // another user.
        for round in 0..<12 {
            var asked = Array(sessions[(round % 3)..<(round % 3 + 1 + round % 4)])
            asked.append(sessions[5])
            asked.append((sessions[4].sessionID, sessions[0].userID))
            let valid = try await postgres.validSessions(of: asked)
            let expected = Dictionary(
                asked.filter { good[$0.sessionID] == $0.userID }.map { ($0.sessionID, $0.userID) }, uniquingKeysWith: { first, _ in first })
            #expect(valid == expected, "round \(round)")
        }
        let plans = try await ServerWithPools.preparedPlans(pool, containing: "AS asked (id, user_id)")
        #expect(plans.count == 1)
        #expect(plans.first.map { $0.custom <= 5 && $0.generic >= 7 } == true, "generic and custom plans: \(plans)")
    }

    @Test("checks asked while a read runs wait for the next read, which answers all of them in one statement, each rightly")
    func checksDuringAReadShareTheNext() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let pool = PostgresConnectionPool(configuration: server.database, maximumConnections: 2, logger: TestCluster.logger)
        defer { Task { await pool.shutdown() } }
        let postgres = PostgresUserRepository(pool: pool)
        let expiry = Date().addingTimeInterval(3600)
        var identities: [Identity] = []
        for n in 0..<12 {
            let user = try await postgres.findOrCreate(username: uniqueName("sc\(n)"))
            identities.append(
                Identity(userID: user.id, sessionID: try await postgres.createSession(userID: user.id, expiresAt: expiry), expiresAt: expiry))
        }
        // Three that must come back invalid: logged out, expired, and a real session presented with another user.
        let revoked = identities[9]
        try await postgres.revokeSession(sessionID: revoked.sessionID)
        let expired = identities[10]
        try await pool.query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id = \(expired.sessionID.uuidString)::uuid")
        var impostor = identities[11]
        impostor.userID = identities[0].userID

        let users = GatedUsers(postgres)
        let authenticator = Authenticator(
            tokens: await TokenService(key: Array(repeating: 3, count: 32), lifetime: .seconds(60)), users: users,
            sessions: SessionCache(ttl: .seconds(3600)))
        let firstIdentity = identities[0]
        let first = Task { try await authenticator.checkSession(firstIdentity) }
        var started = users.sessionReads.readStarted.makeAsyncIterator()
        #expect(await started.next() == 1)
        // The first read is running (held): everything asked now waits for the next one, the first session again too.
        let asked = Array(identities[0..<11]) + [impostor, identities[1], identities[0]]
        let answers = try await withThrowingTaskGroup(of: (Int, Bool).self) { group in
            for (index, identity) in asked.enumerated() {
                group.addTask { (index, try await authenticator.checkSession(identity)) }
            }
            // Every check is queued before the gate opens: it waits for the second read.
            try await RealtimeTests.waitFor { authenticator.sessionReads.waiting == asked.count }
            users.sessionReads.open()
            return try await group.reduce(into: [Int: Bool]()) { $0[$1.0] = $1.1 }
        }
        #expect(try await first.value)

        let reads = users.sessionReads.reads.withLock { $0 }
        #expect(reads.count == 2, "reads: \(reads)")
        // One statement for everybody who waited; a session asked twice is asked once, the impostor's pair apart.
        #expect(reads.last?.count == 12)
        for (index, identity) in asked.enumerated() {
            let valid = identity != revoked && identity != expired && identity != impostor
            #expect(answers[index] == valid, "\(index): \(identity)")
        }
        // Remembered: asking again costs no read.
        #expect(authenticator.sessions.lookup(identities[5].sessionID) == true)
        #expect(authenticator.sessions.lookup(revoked.sessionID) == false)
    }
}
