import Foundation
import PostgresTestSupport
import Synchronization
import Testing

@Suite("Server processes: several instances on one database, SIGTERM", .serialized)
struct ProcessTests {
    @Test("a message posted on one process reaches a subscriber on another; SIGTERM with open streams exits promptly")
    func twoProcesses() async throws {
        let database = try await TestCluster.shared.freshDatabase()
        // The first process migrates; both start from the same schema.
        let (a, b) = try await ServerProcess.startPair(database: database)
        defer {
            a.kill()
            b.kill()
        }
        let chat = try await Chat.start(on: a.baseURL)
        let (apiA, alice, bob, conversation) = (chat.api, chat.alice, chat.bob, chat.conversation)
        let onB = try await SSEClient.connect(b.baseURL, token: bob.token)
        let onA = try await SSEClient.connect(a.baseURL, token: alice.token)
        defer {
            onB.close()
            onA.close()
        }
        try await RealtimeTests.waitFor { onB.lastEventID != nil && onA.lastEventID != nil }
        let sent = try await apiA.sendMessage(alice, conversation, "from process A")
        try await onB.wait(timeout: .seconds(5)) { $0.contains { $0.json["id"] as? String == sent["id"] as? String } }
        // A reply on B reaches A.
        let reply = try await APIClient(baseURL: b.baseURL).sendMessage(bob, conversation, "from process B")
        try await onA.wait(timeout: .seconds(5)) { $0.contains { $0.json["id"] as? String == reply["id"] as? String } }

        let took = try await a.terminate()
        let elapsed = try #require(took, "process A did not exit after SIGTERM")
        #expect(elapsed < .seconds(5))
        try await onA.waitForEnd(timeout: .seconds(5))
        #expect(try await b.terminate() != nil)
    }

    /// The Ctrl-S case end to end: a terminal paused, a log collector stuck. Before ``LogWriter``, each request wrote
    /// its log line itself, and the server stopped answering once the pipe (64 KiB) was full.
    @Test("a server whose standard error nobody reads keeps answering, and every line reaches the log once it is read again", .timeLimit(.minutes(2)))
    func unreadStandardError() async throws {
        let database = try await TestCluster.shared.freshDatabase()
        let fifo = "/tmp/messenger-stderr-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        // Open for reading, never read until the end: the server's standard error is a pipe that fills.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }
        let server = try await ServerProcess.start(database: database, logLevel: "info", outputPath: fifo)
        defer { server.kill() }
        let api = APIClient(baseURL: server.baseURL)
        // ~1.1 KB of log each (the padded query is logged with the path): 300 fill the pipe five times over.
        let requests = 300
        let padding = String(repeating: "p", count: 1_000)
        for index in 0..<requests {
            let reply = try await api.send(.GET, "/healthz?n=\(index)&pad=\(padding)")
            guard reply.status == 200 else {
                Issue.record("request \(index) answered \(reply.status)")
                return
            }
        }
        // The reader comes back: SIGTERM, and the log, drained to its end, has every request's line.
        // A thread of its own for the blocking reads (not the cooperative pool), until the server's end closes the pipe.
        _ = fcntl(reader, F_SETFL, 0)
        let drained = Mutex<[UInt8]>([])
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let count = read(reader, &chunk, chunk.count)
                if count <= 0 { break }
                drained.withLock { $0 += chunk[..<count] }
            }
            done.signal()
        }
        let exited = try await server.terminate()
        #expect(exited != nil, "the server did not exit after SIGTERM")
        if exited == nil { server.kill() }  // its end is what ends the reads
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                done.wait()
                continuation.resume()
            }
        }
        let log = String(decoding: drained.withLock { $0 }, as: UTF8.self)
        let logged = Set(
            log.split(separator: "\n").compactMap { line -> Int? in
                guard line.contains(" GET /healthz?n="), let tail = line.split(separator: "/healthz?n=").last else { return nil }
                return Int(tail.prefix { $0.isNumber })
            })
        #expect(logged == Set(0..<requests), "\(logged.count) of \(requests) request lines in the log")
    }

    @Test("SIGTERM ends the process within 10 s while its PostgreSQL is down")
    func terminateWhileDatabaseDown() async throws {
        let cluster = try TestCluster.makeCluster(name: "down-\(UInt32.random(in: 0...UInt32.max))")
        try await TestCluster.offPool { _ = try cluster.start() }
        let server = try await ServerProcess.start(database: cluster.configuration)
        defer { server.kill() }
        try await TestCluster.offPool { try cluster.kill() }
        // Wait for the state under test: the server knows its database is gone.
        let api = APIClient(baseURL: server.baseURL)
        let deadline = ContinuousClock.now + .seconds(15)
        while (try? await api.send(.GET, "/readyz"))?.status != 503 {
            guard ContinuousClock.now < deadline else { throw TestFailure("/readyz never reported the database down") }
            try await Task.sleep(for: .milliseconds(50))
        }
        let took = try await server.terminate()
        let elapsed = try #require(took, "the process did not exit within 10 s of SIGTERM")
        #expect(elapsed < .seconds(10))
    }

    @Test("kill -9 of one of two instances while it sends: the other keeps delivering within 2 s, every acknowledged message arrives exactly once")
    func killNine() async throws {
        let database = try await TestCluster.shared.freshDatabase()
        let (a, b) = try await ServerProcess.startPair(database: database)
        defer {
            a.kill()
            b.kill()
        }
        let apiA = APIClient(baseURL: a.baseURL)
        let chat = try await Chat.start(on: b.baseURL)
        let (apiB, alice, bob, conversation) = (chat.api, chat.alice, chat.bob, chat.conversation)
        let onB = try await SSEClient.open(b.baseURL, token: bob.token)
        defer { onB.close() }

        // Four senders on A until it dies; what A acknowledged (201) is owed to Bob.
        let acknowledged = IDList()
        let senders = Task {
            await withTaskGroup(of: Void.self) { group in
                for writer in 0..<4 {
                    group.addTask {
                        var n = 0
                        while true {
                            guard let sent = try? await apiA.sendMessage(alice, conversation, "A \(writer) \(n)") else { return }
                            acknowledged.append(sent["id"] as! String)
                            n += 1
                        }
                    }
                }
            }
        }
        try await RealtimeTests.waitFor(timeout: .seconds(20)) { acknowledged.ids.count >= 60 }
        a.kill()
        await senders.value

        // B goes on delivering its own sends promptly.
        for n in 0..<10 {
            let start = ContinuousClock.now
            let sent = try await apiB.sendMessage(alice, conversation, "B \(n)")
            let latency = try await onB.arrival(ofMessage: sent["id"] as! String, timeout: .seconds(5)) - start
            #expect(latency < .seconds(2), "delivery on B after A died: \(latency)")
        }
        let owed = acknowledged.ids
        try await onB.wait(timeout: .seconds(5)) { events in
            let seen = Set(events.filter { $0.event == nil }.compactMap { $0.json["id"] as? String })
            return owed.allSatisfy(seen.contains)
        }
        let ids = onB.events.filter { $0.event == nil }.compactMap { $0.json["id"] as? String }
        #expect(Set(ids).count == ids.count, "no message twice")
    }

    @Test("presence: kill -9 of the instance holding Bob's stream; Alice on the other instance sees him offline within 30 s")
    func presenceAfterKillNine() async throws {
        let database = try await TestCluster.shared.freshDatabase()
        let fast = ["--presence-heartbeat-seconds", "1", "--presence-grace-seconds", "1"]
        let (a, b) = try await ServerProcess.startPair(database: database, extraArguments: fast)
        defer {
            a.kill()
            b.kill()
        }
        let api = APIClient(baseURL: a.baseURL)
        let alice = try await api.devLogin(uniqueName("a"))
        let bob = try await api.devLogin(uniqueName("b"))
        _ = try await api.startConversation(alice, with: bob.username)
        let onA = try await SSEClient.connect(a.baseURL, token: alice.token)
        defer { onA.close() }
        let onB = try await SSEClient.connect(b.baseURL, token: bob.token)
        defer { onB.close() }
        try await onA.wait { PresenceTests.states($0, of: bob.userID).last == true }
        let killed = ContinuousClock.now
        b.kill()
        // B never says goodbye: A reaps its rows once its heartbeat is four beats old.
        try await onA.wait(timeout: .seconds(30)) { PresenceTests.states($0, of: bob.userID).last == false }
        #expect(ContinuousClock.now - killed < .seconds(30))
    }
}

/// Ids collected by concurrent tasks.
final class IDList: Sendable {
    private let state = Mutex<[String]>([])
    func append(_ id: String) { self.state.withLock { $0.append(id) } }
    var ids: [String] { self.state.withLock { $0 } }
}
