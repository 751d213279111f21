import Foundation
import PostgresLibPQ
import PostgresTestSupport
import Synchronization
import Testing

@testable import MessengerApp

/// Sends that wait for the database go together in one statement (``SendBatcher``), and each still gets exactly its
/// own answer: stored once, the conversation's last message and the sender's read position moved, a retried
/// `clientId` (also within one batch) answered with the original, a non-participant refused.
@Suite("Send batching: sends waiting for the database share one statement, each with its own answer")
struct SendBatchTests {
    /// A value shared with the tasks of a test.
    final class Locked<Value: Sendable>: Sendable {
        private let mutex: Mutex<Value>
        init(_ value: Value) { self.mutex = Mutex(value) }
        func withLock<T>(_ body: (inout Value) -> T) -> T { self.mutex.withLock { body(&$0) } }
    }

    /// Lets the fake statements of the batcher tests finish one at a time, and records what each carried.
    final class FakeDatabase: Sendable {
        private let state = Mutex<(running: Int, mostAtOnce: Int, batches: [[Int]], bounded: [Bool], released: Int)>((0, 0, [], [], 0))

        var mostAtOnce: Int { self.state.withLock { $0.mostAtOnce } }
        var batches: [[Int]] { self.state.withLock { $0.batches } }
        /// Whether each statement ran in a slot (bounded), in the order they started.
        var bounded: [Bool] { self.state.withLock { $0.bounded } }
        var running: Int { self.state.withLock { $0.running } }

        /// Lets `count` more statements finish.
        func release(_ count: Int) { self.state.withLock { $0.released += count } }

        /// A statement: answers each send with its own number times ten, after it is released; fails a batch of
        /// several that carries `poison` (alone, the poison fails by itself).
        func execute(_ sends: [Int], bounded: Bool = true, poison: Int? = nil, error: any Error = TestFailure("poisoned")) async throws -> [Int] {
            let ticket = self.state.withLock { state -> Int in
                state.running += 1
                state.mostAtOnce = max(state.mostAtOnce, state.running)
                state.batches.append(sends)
                state.bounded.append(bounded)
                return state.batches.count
            }
            while self.state.withLock({ $0.released < ticket }) { try await Task.sleep(for: .milliseconds(1)) }
            self.state.withLock { $0.running -= 1 }
            if let poison, sends.contains(poison) { throw error }
            return sends.map { $0 * 10 }
        }
    }

    static func until(_ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TestFailure("timed out") }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    @Test("at most `limit` statements at once; sends queued meanwhile go together, each gets its own outcome")
    func queuedSendsGoTogether() async throws {
        let database = FakeDatabase()
        let batcher = SendBatcher<Int, Int>(limit: 2, maximumBatch: 3, key: { Int64($0) }) { _ in true }
        try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for send in 1...2 {
                group.addTask { (send, try await batcher.submit(send) { sends, _ in try await database.execute(sends) }) }
            }
            try await Self.until { database.running == 2 }
            // Both slots are busy: the next five queue.
            for send in 3...7 {
                group.addTask { (send, try await batcher.submit(send) { sends, _ in try await database.execute(sends) }) }
            }
            try await Self.until { batcher.queued == 5 }
            database.release(7)
            var answers: [Int: Int] = [:]
            for try await (send, outcome) in group { answers[send] = outcome }
            #expect(answers == Dictionary(uniqueKeysWithValues: (1...7).map { ($0, $0 * 10) }))
        }
        #expect(database.mostAtOnce == 2)
        // The two alone, then the queue in batches of at most three, in arrival order.
        let batches = database.batches
        #expect(batches.count == 4, "\(batches)")
        #expect(batches.prefix(2).allSatisfy { $0.count == 1 })
        #expect(batches.dropFirst(2).flatMap { $0 }.sorted() == [3, 4, 5, 6, 7])
        #expect(batches.dropFirst(2).allSatisfy { $0.count <= 3 })
        #expect(batcher.counts.statements == 4 && batcher.counts.batched == 2)
        #expect(batcher.queued == 0)
    }

    @Test("a send to a conversation a running statement holds waits, even with a slot free, and goes with the next batch")
    func heldConversationWaits() async throws {
        let database = FakeDatabase()
        // Sends 101, 102, 103 are to conversation 1; 201 to conversation 2.
        let batcher = SendBatcher<Int, Int>(limit: 2, maximumBatch: 10, key: { Int64($0 / 100) }) { _ in true }
        try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            @Sendable func submit(_ send: Int) async throws -> (Int, Int) {
                (send, try await batcher.submit(send) { sends, _ in try await database.execute(sends) })
            }
            group.addTask { try await submit(101) }
            try await Self.until { database.running == 1 }
            // A slot is free, but conversation 1 is held: 102 queues.
            group.addTask { try await submit(102) }
            try await Self.until { batcher.queued == 1 }
            #expect(database.running == 1 && batcher.running == 1)
            // Conversation 2 is free: 201 takes the free slot at once, past the queued 102.
            group.addTask { try await submit(201) }
            try await Self.until { database.running == 2 }
            group.addTask { try await submit(103) }
            try await Self.until { batcher.queued == 2 }
            // 101 commits: 102 and 103 go together in its slot.
            database.release(1)
            try await Self.until { database.batches.count == 3 }
            database.release(2)
            var answers: [Int: Int] = [:]
            for try await (send, outcome) in group { answers[send] = outcome }
            #expect(answers == [101: 1010, 102: 1020, 103: 1030, 201: 2010])
        }
        #expect(database.batches == [[101], [201], [102, 103]])
        #expect(batcher.running == 0 && batcher.queued == 0)
    }

    @Test("a send running again alone keeps its conversation: the next send to it queues, others take the slot")
    func retriedSendKeepsItsConversation() async throws {
        let database = FakeDatabase()
        // 101 and 102 are to conversation 1, 201 to conversation 2. In a slot, 101 fails as a lock timeout would.
        let batcher = SendBatcher<Int, Int>(limit: 1, maximumBatch: 10, key: { Int64($0 / 100) }) { _ in true }
        try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            @Sendable func submit(_ send: Int) async throws -> (Int, Int) {
                let outcome = try await batcher.submit(send) { sends, bounded in
                    if bounded && sends.contains(101) { throw TestFailure("lock timeout") }
                    return try await database.execute(sends, bounded: bounded)
                }
                return (send, outcome)
            }
            group.addTask { try await submit(101) }
            // 101 runs again alone, outside the slot, and waits (for the lock, in PostgreSQL).
            try await Self.until { database.running == 1 && batcher.running == 0 }
            // The slot is free, but conversation 1 is still 101's: 102 queues. 201 takes the slot.
            group.addTask { try await submit(102) }
            try await Self.until { batcher.queued == 1 }
            group.addTask { try await submit(201) }
            try await Self.until { database.running == 2 }
            #expect(batcher.queued == 1)
            // Once 101 is through, 102 goes.
            database.release(3)
            var answers: [Int: Int] = [:]
            for try await (send, outcome) in group { answers[send] = outcome }
            #expect(answers == [101: 1010, 102: 1020, 201: 2010])
        }
        #expect(database.batches == [[101], [201], [102]])
        #expect(database.bounded == [false, true, true])
        #expect(batcher.running == 0 && batcher.queued == 0)
    }

    @Test("a failed batch runs each of its sends alone: only the send that fails gets an error")
    func failedBatchRunsAlone() async throws {
        let database = FakeDatabase()
        database.release(1_000)
        let blocker = FakeDatabase()
        let batcher = SendBatcher<Int, Int>(limit: 1, maximumBatch: 10, key: { Int64($0) }) { _ in true }
        let results = Locked<[Int: Result<Int, any Error>]>([:])
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { _ = try await batcher.submit(0) { sends, _ in try await blocker.execute(sends) } }
            try await Self.until { blocker.running == 1 }
            for send in 1...4 {
                group.addTask {
                    let result: Result<Int, any Error>
                    do {
                        result = .success(
                            try await batcher.submit(send) { sends, bounded in try await database.execute(sends, bounded: bounded, poison: 3) })
                    } catch {
                        result = .failure(error)
                    }
                    results.withLock { $0[send] = result }
                }
            }
            try await Self.until { batcher.queued == 4 }
            blocker.release(1)
            try await group.waitForAll()
        }
        let outcomes = results.withLock { $0 }
        for send in [1, 2, 4] { #expect((try? outcomes[send]?.get()) == send * 10) }
        #expect((try? outcomes[3]?.get()) == nil)
        // The batch of four, then each alone.
        #expect(database.batches.first?.count == 4)
        #expect(database.batches.dropFirst().map(\.count) == [1, 1, 1, 1])
        // The batch ran in the slot (bounded), the sends run again outside it (unbounded).
        #expect(database.bounded == [true, false, false, false, false])
    }

    @Test("a failed batch whose error does not say nothing was stored fails every send of it, none runs again")
    func failedBatchNotRetried() async throws {
        struct Lost: Error {}
        let database = FakeDatabase()
        database.release(1_000)
        let blocker = FakeDatabase()
        let batcher = SendBatcher<Int, Int>(limit: 1, maximumBatch: 10, key: { Int64($0) }) { !($0 is Lost) }
        let failures = Locked(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { _ = try await batcher.submit(0) { sends, _ in try await blocker.execute(sends) } }
            try await Self.until { blocker.running == 1 }
            for send in 1...3 {
                group.addTask {
                    do {
                        _ = try await batcher.submit(send) { sends, _ in try await database.execute(sends, poison: 2, error: Lost()) }
                    } catch is Lost {
                        failures.withLock { $0 += 1 }
                    }
                }
            }
            try await Self.until { batcher.queued == 3 }
            blocker.release(1)
            try await group.waitForAll()
        }
        #expect(failures.withLock { $0 } == 3)
        #expect(database.batches.map(\.count) == [3])
        #expect(batcher.running == 0 && batcher.queued == 0)
    }

    /// Fills every send slot of `repository` with sends to the `held` conversations, whose rows the blocker locks,
    /// then sends `queued` (they queue), then lets everything go: the queue goes as one statement. Each send's answer.
    /// `repository`'s lock timeout must outlast the filling, or the held sends give up and run again alone.
    static func sendQueued(
        _ queued: [MessageSend], repository: PostgresConversationRepository, holding held: [Int64], as holder: Int64,
        blocker: PostgresConnectionPool, observer: PostgresConnectionPool
    ) async throws -> [Int: (message: Message, created: Bool)?] {
        let limit = repository.sendBatcher.limit
        let answers = Locked<[Int: (message: Message, created: Bool)?]>([:])
        let sending = try await blocker.withTransaction { transaction in
            try await transaction.query("SELECT 1 FROM conversations WHERE id = ANY(\(held)) FOR UPDATE")
            var sending: [Task<Void, any Error>] = held.map { conversation in
                Task { _ = try await repository.createMessage(userID: holder, conversationID: conversation, content: "held", clientID: nil) }
            }
            try await Self.until { repository.sendBatcher.running == limit }
            try await ServerWithPools.untilLockWaits(observer, count: limit)
            for (index, send) in queued.enumerated() {
                sending.append(
                    Task {
                        let answer = try await repository.createMessage(
                            userID: send.userID, conversationID: send.conversationID, content: send.content, clientID: send.clientID)
                        answers.withLock { $0[index] = answer }
                    })
            }
            try await Self.until { repository.sendBatcher.queued == queued.count }
            return sending
        }
        for task in sending { try await task.value }
        return answers.withLock { $0 }
    }

    @Test("through PostgreSQL: a batch stores each message once and moves conversations and read positions as single sends do")
    func batchOnPostgres() async throws {
        let live = try await ServerWithPools.start(poolSizes: [8, 1, 1])
        defer { Task { await live.stop() } }
        let (api, pool, blocker, observer) = (live.api, live.pools[0], live.pools[1], live.pools[2])
        let metrics = AppMetrics()
        // The held sends wait for the blocker's locks while the queue fills, which on a busy machine can take longer
        // than the default lock timeout (they would then give up and run again alone): here they wait as long as it takes.
        let repository = PostgresConversationRepository(pool: pool, maxGroupSize: 100, metrics: metrics, sendLockTimeout: .seconds(600))
        let limit = PostgresConversationRepository.sendStatementsAtOnce
        let (alice, bob, carol) = (
            try await api.devLogin(uniqueName("a")), try await api.devLogin(uniqueName("b")), try await api.devLogin(uniqueName("c"))
        )
        let ids = (alice: ID.parse(alice.userID)!, bob: ID.parse(bob.userID)!, carol: ID.parse(carol.userID)!)
        // Conversations whose rows the blocker locks, to keep every slot busy.
        var held: [Int64] = []
        for _ in 0..<limit { held.append(ID.parse(try await api.createGroup(alice, title: "held", usernames: [bob.username]))!) }
        let group = ID.parse(try await api.createGroup(alice, title: "group", usernames: [bob.username, carol.username]))!
        let direct = ID.parse(try await api.startConversation(alice, with: bob.username))!
        let earlier = try await repository.createMessage(userID: ids.alice, conversationID: direct, content: "earlier", clientID: "retry-1")!

        // The sends that will queue: several senders and conversations, two to the same conversation by one sender,
        // a retried clientId, the same new clientId twice, and carol in a conversation she is not in.
        let queued: [MessageSend] = [
            MessageSend(userID: ids.alice, conversationID: group, content: "g1", clientID: nil),
            MessageSend(userID: ids.bob, conversationID: group, content: "g2", clientID: nil),
            MessageSend(userID: ids.alice, conversationID: group, content: "g3", clientID: "twice"),
            MessageSend(userID: ids.bob, conversationID: direct, content: "d1", clientID: nil),
            MessageSend(userID: ids.alice, conversationID: direct, content: "retried", clientID: "retry-1"),
            MessageSend(userID: ids.carol, conversationID: direct, content: "not hers", clientID: nil),
            MessageSend(userID: ids.alice, conversationID: group, content: "g3", clientID: "twice"),
            MessageSend(userID: ids.carol, conversationID: group, content: "g4", clientID: nil),
        ]
        let got = try await Self.sendQueued(queued, repository: repository, holding: held, as: ids.alice, blocker: blocker, observer: observer)
        // The held sends alone, then the queue as one statement.
        #expect(repository.sendBatcher.counts.statements == 1 + limit + 1)
        #expect(repository.sendBatcher.counts.batched == 1)
        // Counted for `/metrics` as they ran: "earlier" and the held ones alone, the queue as one batch of eight.
        let counted = PrometheusScrape(String(decoding: metrics.registry.emitToBuffer(), as: UTF8.self))
        #expect(counted.value(AppMetrics.Names.sendStatements, ["kind": "alone"]) == Double(1 + limit))
        #expect(counted.value(AppMetrics.Names.sendStatements, ["kind": "batch"]) == 1)
        #expect(counted.value(AppMetrics.Names.sendsBatched) == Double(queued.count))
        #expect(counted.value(AppMetrics.Names.sendStatements, ["kind": "retry"]) == 0)

        for index in [0, 1, 3, 7] {
            let answer = try #require(got[index] ?? nil)
            #expect(answer.created && answer.message.content == queued[index].content)
            #expect(answer.message.user.id == String(queued[index].userID))
            #expect(answer.message.conversationId == String(queued[index].conversationID))
        }
        #expect(got[5] ?? nil == nil, "a non-participant's send is refused")
        // The retried clientId gets the original; of the two new ones, one is stored and both get it.
        let retried = try #require(got[4] ?? nil)
        #expect(!retried.created && retried.message.id == earlier.message.id && retried.message.content == "earlier")
        let (first, second) = (try #require(got[2] ?? nil), try #require(got[6] ?? nil))
        #expect(first.created != second.created && first.message.id == second.message.id)

        // Stored once each, and the rows a send moves moved as a single send moves them.
        let count = { (query: PostgresQuery) in try await ServerWithPools.count(observer, query) }
        #expect(try await count("SELECT count(*) FROM messages WHERE conversation_id = \(group)") == 4)
        #expect(try await count("SELECT count(*) FROM messages WHERE conversation_id = \(direct)") == 2)
        #expect(try await count("SELECT count(*) FROM messages WHERE client_id = 'twice'") == 1)
        for conversation in [group, direct] {
            #expect(
                try await count(
                    "SELECT count(*) FROM conversations c WHERE id = \(conversation) AND last_message_id = (SELECT max(id) FROM messages WHERE conversation_id = c.id)"
                ) == 1)
        }
        for (user, conversation) in [(ids.alice, group), (ids.bob, group), (ids.carol, group), (ids.bob, direct)] {
            #expect(
                try await count(
                    """
                    SELECT count(*) FROM participants p
                    WHERE p.user_id = \(user) AND p.conversation_id = \(conversation)
                      AND p.last_read_message_id = (SELECT max(id) FROM messages WHERE user_id = \(user) AND conversation_id = \(conversation))
                    """) == 1, "read position of \(user) in \(conversation)")
        }
        // Through the API, the group's newest message is the last one the batch stored there.
        let newest = try await api.send(.GET, "/api/conversations/\(group)/messages", token: bob.token).array
        #expect(Set(newest.prefix(4).compactMap { $0["content"] as? String }) == ["g1", "g2", "g3", "g4"])
    }

    @Test("with push on, a batch records one pending push per recipient and conversation, counting its messages")
    func batchWithPush() async throws {
        let live = try await ServerWithPools.start(poolSizes: [8, 1, 1])
        defer { Task { await live.stop() } }
        let (api, pool, blocker, observer) = (live.api, live.pools[0], live.pools[1], live.pools[2])
        // No stream is open anywhere: every recipient is offline and gets a push.
        // As above: the held sends wait for the blocker as long as it takes.
        let repository = PostgresConversationRepository(
            pool: pool, maxGroupSize: 100, pushCoalesceWindow: .seconds(60), sendLockTimeout: .seconds(600))
        let (alice, bob, carol) = (
            try await api.devLogin(uniqueName("a")), try await api.devLogin(uniqueName("b")), try await api.devLogin(uniqueName("c"))
        )
        let ids = (alice: ID.parse(alice.userID)!, bob: ID.parse(bob.userID)!, carol: ID.parse(carol.userID)!)
        var held: [Int64] = []
        for _ in 0..<repository.sendBatcher.limit {
            held.append(ID.parse(try await api.createGroup(alice, title: "held", usernames: [bob.username]))!)
        }
        let group = ID.parse(try await api.createGroup(alice, title: "group", usernames: [bob.username, carol.username]))!
        // A pending push for carol already: the batch's messages fold into it.
        try await repository.createMessage(userID: ids.bob, conversationID: group, content: "before", clientID: nil)

        let queued = [
            MessageSend(userID: ids.alice, conversationID: group, content: "a1", clientID: nil),
            MessageSend(userID: ids.alice, conversationID: group, content: "a2", clientID: nil),
            MessageSend(userID: ids.bob, conversationID: group, content: "b1", clientID: nil),
        ]
        let got = try await Self.sendQueued(queued, repository: repository, holding: held, as: ids.alice, blocker: blocker, observer: observer)
        #expect(repository.sendBatcher.counts.batched == 1)
        let sent = try queued.indices.map { try #require(got[$0] ?? nil).message }

        // Per recipient of the group: the count of messages not their own, the newest of them, its sender.
        let pending = try await observer.query(
            """
            SELECT recipient_id, message_count, message_id, sender_id FROM push_outbox
            WHERE conversation_id = \(group) AND state = 'pending' ORDER BY recipient_id
            """
        ).map { try $0.decode((Int64, Int32, Int64, Int64).self) }
        let expected: [(Int64, Int32, String, Int64)] = [
            (ids.alice, 2, sent[2].id, ids.bob),  // "before" and b1
            (ids.bob, 2, sent[1].id, ids.alice),  // a1 and a2 (b1 is bob's own)
            (ids.carol, 4, sent[2].id, ids.bob),  // all four
        ].sorted { $0.0 < $1.0 }
        #expect(pending.count == 3)
        for (row, want) in zip(pending, expected) {
            #expect(row.0 == want.0 && row.1 == want.1 && String(row.2) == want.2 && row.3 == want.3, "\(row) against \(want)")
        }
    }

    @Test("a batch locks its conversations in the order of their ids: waiting for one, it holds those before it, none after")
    func batchLocksConversationsInOrder() async throws {
        let live = try await ServerWithPools.start(poolSizes: [4, 1, 1])
        defer { Task { await live.stop() } }
        let (api, pool, blocker, observer) = (live.api, live.pools[0], live.pools[1], live.pools[2])
        let repository = PostgresConversationRepository(pool: pool, maxGroupSize: 100)
        let (alice, bob) = (try await api.devLogin(uniqueName("a")), try await api.devLogin(uniqueName("b")))
        let aliceID = ID.parse(alice.userID)!
        var conversations: [Int64] = []
        for _ in 0..<8 { conversations.append(ID.parse(try await api.createGroup(alice, title: "g", usernames: [bob.username]))!) }
        conversations.sort()
        // Two statements that lock the same rows in different orders can each hold one the other waits for (a
        // deadlock). Ordered by id, a statement waiting for a conversation holds none with a higher id. Each round
        // holds a different conversation and lists the batch in another order: wherever the plan's own order put
        // the held one, some round would find a row after it locked.
        let rounds: [(held: Int, order: [Int64])] = [
            (0, conversations.reversed()), (3, conversations), (5, conversations.shuffled()), (7, conversations.reversed()),
        ]
        for (round, (heldIndex, order)) in rounds.enumerated() {
            let held = conversations[heldIndex]
            let sends = order.map { MessageSend(userID: aliceID, conversationID: $0, content: "round \(round)", clientID: nil) }
            let batch = try await blocker.withTransaction { transaction in
                try await transaction.query("SELECT 1 FROM conversations WHERE id = \(held) FOR UPDATE")
                let batch = Task { try await repository.store(sends, bounded: false) }
                try await ServerWithPools.untilLockWaits(observer, count: 1)
                for conversation in conversations where conversation != held {
                    let free = try await observer.query(
                        "SELECT count(*) FROM (SELECT 1 FROM conversations WHERE id = \(conversation) FOR UPDATE SKIP LOCKED) f"
                    ).first!.decode(Int64.self, at: 0)
                    #expect(
                        (free == 1) == (conversation > held),
                        "round \(round): conversation \(conversation) is \(free == 1 ? "free" : "locked") while the batch waits for \(held)")
                }
                return batch
            }
            let stored = try await batch.value
            #expect(stored.count == sends.count && stored.allSatisfy { $0 != nil }, "round \(round): every send stored")
        }
    }

    @Test("conversations locked by a transaction left open hold no send slot: sends elsewhere go on, theirs wait")
    func lockedConversationHoldsNoSlot() async throws {
        let live = try await ServerWithPools.start(poolSizes: [12, 1, 1])
        defer { Task { await live.stop() } }
        let (api, pool, blocker, observer) = (live.api, live.pools[0], live.pools[1], live.pools[2])
        let metrics = AppMetrics()
        let repository = PostgresConversationRepository(pool: pool, maxGroupSize: 100, metrics: metrics)
        let limit = repository.sendBatcher.limit
        let (alice, bob) = (try await api.devLogin(uniqueName("a")), try await api.devLogin(uniqueName("b")))
        let aliceID = ID.parse(alice.userID)!
        var locked: [Int64] = []
        for _ in 0..<limit { locked.append(ID.parse(try await api.createGroup(alice, title: "locked", usernames: [bob.username]))!) }
        let elsewhere = ID.parse(try await api.startConversation(alice, with: bob.username))!
        let send = { (conversation: Int64, content: String) in
            Task { try await repository.createMessage(userID: aliceID, conversationID: conversation, content: content, clientID: nil) }
        }

        let (stuck, other) = try await blocker.withTransaction { transaction in
            // Someone's transaction holds as many conversations' rows as there are slots, and stays open. Slots never
            // share a conversation, so it takes that many to fill them: one send to each, and one more to the first
            // that queues behind its send.
            try await transaction.query("SELECT 1 FROM conversations WHERE id = ANY(\(locked)) FOR UPDATE")
            var stuck = locked.map { send($0, "stuck") }
            try await Self.until { repository.sendBatcher.running == limit }
            try await ServerWithPools.untilLockWaits(observer, count: limit)
            stuck.append(send(locked[0], "stuck again"))
            // A send to another conversation is answered while the locks are still held: each slot's statement gave
            // up waiting (its lock timeout) and its send waits alone, outside the slots.
            let other = send(elsewhere, "elsewhere")
            let done = Locked(false)
            let watcher = Task {
                _ = try await other.value
                done.withLock { $0 = true }
            }
            try await Self.until { done.withLock { $0 } }
            try await watcher.value
            let stored = try await ServerWithPools.count(observer, "SELECT count(*) FROM messages WHERE conversation_id = ANY(\(locked))")
            #expect(stored == 0, "a send to a locked conversation finished while its row was locked")
            return (stuck, other)
        }
        #expect(try await other.value?.created == true)
        // Once the locks are gone, every send to the locked conversations is stored, once.
        for task in stuck { #expect(try await task.value?.created == true) }
        let stored = try await ServerWithPools.count(observer, "SELECT count(*) FROM messages WHERE conversation_id = ANY(\(locked))")
        #expect(stored == Int64(limit + 1))
        #expect(repository.sendBatcher.running == 0 && repository.sendBatcher.queued == 0)
        // Every send that held a slot gave it up after the lock timeout and ran again alone: counted as a retry.
        let counted = PrometheusScrape(String(decoding: metrics.registry.emitToBuffer(), as: UTF8.self))
        #expect(counted.value(AppMetrics.Names.sendStatements, ["kind": "retry"]) >= Double(limit))
    }
}
