import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

/// Everything a scenario needs: one small event loop group shared by AsyncHTTPClient and the SSE streams.
struct Bench: Sendable {
    let group: MultiThreadedEventLoopGroup
    let api: API
    let target: Target
    let runId: String
    let quick: Bool
    let serverPid: Int32?
    let databasePid: Int32?
    let pgbench: PgBench?
    let pgbenchSkipReason: String
    let graceSeconds: Double
    let fileLimit: (before: UInt64, after: UInt64)

    func username(_ tag: String, _ n: Int) -> String { "b\(runId)\(tag)\(n)" }

    func usernames(_ tag: String, _ count: Int) -> [String] { (0..<count).map { username(tag, $0) } }

    func content(_ tag: String, _ seq: Int) -> String { "m \(runId) \(tag) \(seq)" }

    /// Parses the sequence number back out of a message's content ("m <run> <tag> <seq>"); nil for others.
    func sequence(in event: SSEEvent, tag: String) -> Int? {
        guard let (found, sequence) = self.taggedSequence(in: event), found == tag else { return nil }
        return sequence
    }

    /// The tag and sequence number of one of this run's messages ("m <run> <tag> <n>").
    func taggedSequence(in event: SSEEvent) -> (tag: Substring, sequence: Int)? {
        guard event.type == "message",
            let message = try? JSONDecoder().decode(MessageDTO.self, from: Data(event.data))
        else { return nil }
        let parts = message.content.split(separator: " ")
        guard parts.count == 4, parts[0] == "m", parts[1] == runId, let sequence = Int(parts[3]) else { return nil }
        return (parts[2], sequence)
    }

    /// CPU seconds so far of the server's process tree and of the database's (when their pids are known).
    func serverCPUSeconds() -> ServerCPU {
        ServerCPU(
            server: serverPid.flatMap { processTreeCPUSeconds(root: $0) },
            database: databasePid.flatMap { processTreeCPUSeconds(root: $0) })
    }

    func serverRSSKB() -> Int? { serverPid.flatMap { residentKB(pid: $0) } }

    func openStream(
        _ user: BenchUser, lastEventId: String? = nil, on other: Target? = nil, onEvent: @escaping @Sendable (SSEEvent) -> Void
    ) async throws -> SSEConnection {
        try await SSEConnection.connect(
            group: group, target: other ?? target, token: user.token, lastEventId: lastEventId, onEvent: onEvent)
    }

    /// Opens one stream per user (bounded parallelism) and waits for each stream's first `id:` (the server's
    /// subscription point), so nothing sent afterwards can be missed.
    func openStreams(
        _ users: [BenchUser], on other: Target? = nil, onEvent: @escaping @Sendable (Int, SSEEvent) -> Void
    ) async throws -> [SSEConnection] {
        let indexed = Array(users.enumerated()).map { ($0.offset, $0.element) }
        let noIds = Locked(0)
        let streams = try await boundedMap(indexed, width: 64) { pair in
            let (index, user) = pair
            let stream = try await self.openStream(user, on: other) { event in onEvent(index, event) }
            // A server that sends no id: at connect (not ours) should not cost 5 s per stream.
            let patience = noIds.current > 0 ? 0.2 : 5
            if !(await waitFirstId(stream, seconds: patience)) { noIds.withLock { $0 += 1 } }
            return stream
        }
        if noIds.current > 0 { log("\(noIds.current) streams sent no id: line within 5 s") }
        return streams
    }

    /// Runs the pgbench raw-INSERT baseline with `clients` clients and adds the ratio of `ours` to it.
    func baseline(clients: Int, seconds: Int, ours: Double, into report: inout ScenarioReport) async {
        guard let pgbench else {
            report.notes.append("raw INSERT baseline skipped: \(pgbenchSkipReason)")
            return
        }
        log("\(report.name): pgbench baseline, \(clients) client(s), \(seconds) s")
        do {
            let result = try await pgbench.run(clients: clients, seconds: seconds)
            report.metric("raw INSERT/s (pgbench)", result.tps, "rows/s", decimals: 1)
            report.metric("ratio to raw INSERT", result.tps > 0 ? ours / result.tps : 0, "", decimals: 3)
            report.param("pgbench", "-c \(clients) -j \(clients) -T \(seconds)")
        } catch {
            report.errors.append("pgbench baseline failed: \(error)")
        }
    }
}

struct ServerCPU: Sendable {
    let server: Double?
    let database: Double?
}

func waitFirstId(_ stream: SSEConnection, seconds: Double) async -> Bool {
    let deadline = nowNs() + UInt64(seconds * 1e9)
    while nowNs() < deadline {
        let (seen, closed) = stream.state.values.withLock { ($0.sawId, $0.closed) }
        if seen { return true }
        if closed { return false }
        try? await sleep(seconds: 0.002)
    }
    return false
}

/// Polls `done` until it is true or `seconds` pass. Receipt times are stamped on the event loop, so the polling
/// interval does not affect any measured latency.
func waitUntil(seconds: Double, _ done: () -> Bool) async -> Bool {
    let deadline = nowNs() + UInt64(seconds * 1e9)
    while true {
        if done() { return true }
        if nowNs() >= deadline { return false }
        try? await sleep(seconds: 0.001)
    }
}
