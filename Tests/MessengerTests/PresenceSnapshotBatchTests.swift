import Foundation
import NIOCore
import PostgresLibPQ
import PostgresTestSupport
import Synchronization
import Testing

@testable import MessengerApp

/// Presence work for crowds of streams is done in batches, against the real database: the snapshot a new stream
/// starts with (`PresenceTracker+Snapshot`; the first read is held at a gate so that the requests made meanwhile are
/// known to wait for the next one), and the arrivals of a storm of users coming online.
@Suite("Presence reads and writes in batches")
struct PresenceSnapshotBatchTests {
    /// The real repository, counting the snapshot reads and holding the first at a gate until the test opens it.
    final class GatedRepository: PresenceRepository {
        let inner: PostgresPresenceRepository
        let snapshotReads = FirstReadGate<[Int64]>()

        init(_ inner: PostgresPresenceRepository) {
            self.inner = inner
        }

        func contactsPresence(of viewers: [Int64], deadAfter: Duration) async throws -> [Int64: [Int64: PresenceState]] {
            await self.snapshotReads.enter(viewers)
            return try await self.inner.contactsPresence(of: viewers, deadAfter: deadAfter)
        }

        func heartbeat(instance: String) async throws { try await self.inner.heartbeat(instance: instance) }
        func unregister(instance: String) async throws -> [Int64] { try await self.inner.unregister(instance: instance) }
        func reapDeadInstances(deadAfter: Duration) async throws -> [Int64] { try await self.inner.reapDeadInstances(deadAfter: deadAfter) }
        /// The batches of arrivals recorded.
        let arrivals = Mutex<[[Int64]]>([])

        func markOnline(userIDs: [Int64], instance: String) async throws {
            self.arrivals.withLock { $0.append(userIDs) }
            try await self.inner.markOnline(userIDs: userIDs, instance: instance)
        }
        func markOffline(userID: Int64, instance: String, deadAfter: Duration) async throws -> Bool {
            try await self.inner.markOffline(userID: userID, instance: instance, deadAfter: deadAfter)
        }
        func presence(of userIDs: [Int64], deadAfter: Duration) async throws -> [Int64: PresenceState] {
            try await self.inner.presence(of: userIDs, deadAfter: deadAfter)
        }
        func contacts(of userIDs: [Int64]) async throws -> [Int64: [Int64]] { try await self.inner.contacts(of: userIDs) }
        func participantName(userID: Int64, conversationID: Int64) async throws -> String? {
            try await self.inner.participantName(userID: userID, conversationID: conversationID)
        }
    }

    /// Snapshot frames as they are delivered: who asked, and the user ids the frame lists (nil: no frame).
    final class Deliveries: Sendable {
        let received = Mutex<[(userID: Int64, contacts: Set<String>?)]>([])
        let arrivals: AsyncStream<Void>
        let continuation: AsyncStream<Void>.Continuation

        init() { (self.arrivals, self.continuation) = AsyncStream.makeStream() }

        func deliver(_ frame: ByteBuffer?, to userID: Int64) {
            var contacts: Set<String>?
            if let frame {
                let text = String(buffer: frame)
                let data = text.split(separator: "\n").first { $0.hasPrefix("data: ") }.map { $0.dropFirst(6) } ?? ""
                let json = (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any]
                let users = json?["users"] as? [[String: Any]] ?? []
                contacts = Set(users.compactMap { $0["userId"] as? String })
            }
            self.received.withLock { $0.append((userID, contacts)) }
            self.continuation.yield()
        }
    }

    /// A user in a one-to-one conversation with each of `count` new users (their contacts, for presence).
    private static func hub(
        with count: Int, named prefix: String, api: APIClient
    ) async throws -> (hub: APIClient.Session, members: [APIClient.Session]) {
        let hub = try await api.devLogin(uniqueName("hub"))
        var members: [APIClient.Session] = []
        for n in 0..<count {
            let member = try await api.devLogin(uniqueName("\(prefix)\(n)"))
            _ = try await api.startConversation(hub, with: member.username)
            members.append(member)
        }
        return (hub, members)
    }

    @Test("requests made while a snapshot read runs wait for the next read, which serves all of them in one statement")
    func requestsDuringAReadShareTheNext() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let (hub, members) = try await Self.hub(with: 20, named: "m", api: api)
        let loner = try await api.devLogin(uniqueName("loner"))

        let pool = PostgresConnectionPool(configuration: server.database, maximumConnections: 2, logger: TestCluster.logger)
        defer { Task { await pool.shutdown() } }
        let repository = GatedRepository(PostgresPresenceRepository(pool: pool))
        let configuration = AppConfiguration()
        let codec = StreamPositionCodec(serverKey: Array(repeating: 1, count: 32), databaseToken: "batch")
        let registry = SubscriberRegistry(
            start: StreamPosition(tx: 0, id: 0, time: 0), maxPerUser: 5, bufferLimit: 64, codec: codec, metrics: AppMetrics())
        let tracker = PresenceTracker(
            repository: repository, notifier: nil, registry: registry, instanceID: "batch-test", configuration: configuration,
            logger: TestCluster.logger)
        let deliveries = Deliveries()
        func ask(_ userID: String) {
            let id = Int64(userID)!
            tracker.request(snapshotFor: id) { deliveries.deliver($0, to: id) }
        }

        ask(hub.userID)
        var started = repository.snapshotReads.readStarted.makeAsyncIterator()
        #expect(await started.next() == 1)
        // The first read is running (held): everything asked now must wait for the next one, the hub's second
        // request too (the running read may have begun before whatever this request wants to be newer than).
        for member in members { ask(member.userID) }
        ask(members[0].userID)
        ask(hub.userID)
        ask(loner.userID)
        // Every request is queued before the gate opens: it waits for the second read.
        try await RealtimeTests.waitFor { tracker.snapshotReads.waiting == members.count + 3 }
        repository.snapshotReads.open()
        var arrivals = deliveries.arrivals.makeAsyncIterator()
        for _ in 0..<(members.count + 4) { await arrivals.next() }

        let reads = repository.snapshotReads.reads.withLock { $0 }
        let ids = { (sessions: [APIClient.Session]) in sessions.map { Int64($0.userID)! } }
        #expect(reads.count == 2, "reads: \(reads)")
        #expect(reads.first == ids([hub]))
        // One statement for everybody who waited, each user once.
        #expect(reads.last?.count == members.count + 2)
        #expect(Set(reads.last ?? []) == Set(ids(members + [hub, loner])))

        let received = deliveries.received.withLock { $0 }
        let memberIDs = Set(members.map(\.userID))
        for (userID, contacts) in received {
            switch String(userID) {
            case hub.userID: #expect(contacts == memberIDs)
            case loner.userID: #expect(contacts == nil, "no contacts, no frame")
            default: #expect(contacts == [hub.userID])
            }
        }
        #expect(received.filter { String($0.userID) == hub.userID }.count == 2)
        #expect(received.filter { String($0.userID) == members[0].userID }.count == 2)
    }

    @Test("the contacts' presence read answers each viewer with their contacts, and is planned once per connection, not per batch")
    func contactsPresenceKeepsOnePlan() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let (hub, members) = try await Self.hub(with: 12, named: "p", api: api)
        // The hub and the first member also share a group: the same pair twice, still one entry.
        _ = try await api.createGroup(hub, title: "twice", usernames: [members[0].username])
        let loner = try await api.devLogin(uniqueName("loner"))
        // One connection, so that its prepared statements are the ones the reads used.
        let pool = PostgresConnectionPool(configuration: server.database, maximumConnections: 1, logger: TestCluster.logger)
        defer { Task { await pool.shutdown() } }
        let repository = PostgresPresenceRepository(pool: pool)
        let id = { (session: APIClient.Session) in Int64(session.userID)! }
        let online = Set(members.enumerated().filter { $0.offset % 3 == 0 }.map { id($0.element) })
        try await repository.markOnline(userIDs: Array(online), instance: uniqueName("plan-test"))

        // Small batches, as streams opening one after another make them: each a different set of viewers.
        for round in 0..<members.count {
            let viewers = [id(hub), id(members[round]), id(loner)]
            let presence = try await repository.contactsPresence(of: viewers, deadAfter: .seconds(30))
            #expect(Set(presence.keys) == [id(hub), id(members[round])], "a viewer without contacts has no entry")
            #expect(Set(presence[id(hub)]?.keys ?? [:].keys) == Set(members.map(id)))
            for (contact, state) in presence[id(hub)] ?? [:] {
                #expect(state.online == online.contains(contact), "contact \(contact)")
            }
            #expect(presence[id(members[round])]?.mapValues(\.online) == [id(hub): false])
        }
        // PostgreSQL plans a prepared statement for its first five runs, then keeps one generic plan unless it
        // judges a plan of each run's own values cheaper; planning this statement took ~20 times as long as running it.
        let plans = try await ServerWithPools.preparedPlans(pool, containing: "WITH pairs AS")
        #expect(plans.count == 1)
        #expect(plans.first.map { $0.custom <= 5 && $0.generic >= Int64(members.count - 5) } == true, "generic and custom plans: \(plans)")
    }

    @Test("a storm of arrivals (hundreds of users coming online a second) is recorded in a few statements, not one per user")
    func arrivalStormsAreGathered() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let api = APIClient(baseURL: server.baseURL)
        let users = try await (0..<150).asyncMap { n in try await api.devLogin(uniqueName("storm\(n)")) }
        let pool = PostgresConnectionPool(configuration: server.database, maximumConnections: 2, logger: TestCluster.logger)
        defer { Task { await pool.shutdown() } }
        let repository = GatedRepository(PostgresPresenceRepository(pool: pool))
        let codec = StreamPositionCodec(serverKey: Array(repeating: 1, count: 32), databaseToken: "storm")
        let registry = SubscriberRegistry(
            start: StreamPosition(tx: 0, id: 0, time: 0), maxPerUser: 5, bufferLimit: 64, codec: codec, metrics: AppMetrics())
        let tracker = PresenceTracker(
            repository: repository, notifier: nil, registry: registry, instanceID: "storm-test", configuration: AppConfiguration(),
            logger: TestCluster.logger)
        let worker = Task { await tracker.worker() }
        defer {
            tracker.finish()
            worker.cancel()
        }
        // 150 users arriving one by one over ~300 ms: each arrival alone would wake the worker, which records
        // whatever waits, one statement each time (a round trip takes a millisecond or two here).
        for user in users {
            tracker.streamOpened(userID: Int64(user.userID)!)
            try await Task.sleep(for: .milliseconds(2))
        }
        try await RealtimeTests.waitFor(timeout: .seconds(10)) {
            repository.arrivals.withLock { $0.reduce(0) { $0 + $1.count } } == users.count
        }
        let batches = repository.arrivals.withLock { $0 }
        #expect(Set(batches.joined()) == Set(users.map { Int64($0.userID)! }))
        // Gathered for 20 ms at a time once the storm is seen: ~300 ms make about 15 batches (without: ~150).
        #expect(batches.count <= 40, "\(batches.count) statements: \(batches.map(\.count))")
    }
}
