import Foundation
import NIOCore

// MARK: - 2. Concurrent send

struct ConcurrentSizes: Sendable {
    var clients: Int
    var seconds: Int
    /// With a value: every client takes part in this many groups and sends to them in turn (busy group chats, where
    /// concurrent sends meet on the same conversations); without: each client its own direct conversation.
    var groups: Int? = nil
}

func runConcurrent(_ b: Bench, _ s: ConcurrentSizes) async throws -> ScenarioReport {
    var r = ScenarioReport(name: "concurrent")
    r.param("clients", s.clients)
    r.param("duration_s", s.seconds)
    if let groups = s.groups { r.param("groups", groups) }
    log("concurrent: \(s.clients) clients for \(s.seconds) s\(s.groups.map { ", sending in turn to \($0) shared groups" } ?? "")")
    let users = try await b.api.login(usernames: b.usernames("c", 2 * s.clients))
    let pairs = (0..<s.clients).map { (users[2 * $0], users[2 * $0 + 1]) }
    // The conversations client i sends to, in turn.
    let targets: [[String]]
    if let groups = s.groups {
        guard groups >= 1 else { throw BenchError("--groups must be at least 1") }
        let senders = pairs.map(\.0)
        let shared = try await boundedMap(Array(0..<groups), width: 4) { k in
            try await b.api.createGroup(senders[0], title: "shared \(k)", usernames: senders.dropFirst().map(\.username))
        }
        // Each client starts at another group, so concurrent sends meet on every group.
        targets = (0..<s.clients).map { i in (0..<groups).map { shared[(i + $0) % groups] } }
    } else {
        let direct = try await boundedMap(pairs, width: 16) { pair in
            try await b.api.createDirect(pair.0, with: pair.1.username)
        }
        targets = direct.map { [$0] }
    }
    // Warm up every connection once.
    await withTaskGroup(of: Void.self) { group in
        for i in 0..<s.clients {
            group.addTask {
                _ = await b.api.timedSend(pairs[i].0, conversation: targets[i][0], content: b.content("w", i))
            }
        }
    }
    let cpu0 = CPUSample.now()
    let server0 = b.serverCPUSeconds()
    let end = cpu0.wallNs + UInt64(s.seconds) * 1_000_000_000
    struct ClientResult: Sendable {
        var latencies: [UInt64] = []
        var failures = 0
        var firstError: String?
    }
    let results = await withTaskGroup(of: ClientResult.self) { group in
        for i in 0..<s.clients {
            group.addTask {
                var out = ClientResult()
                var seq = 0
                while nowNs() < end {
                    switch await b.api.timedSend(
                        pairs[i].0, conversation: targets[i][seq % targets[i].count], content: b.content("c", i * 10_000_000 + seq))
                    {
                    case .ok(let ns, _): out.latencies.append(ns)
                    case .failed(let why):
                        out.failures += 1
                        if out.firstError == nil { out.firstError = why }
                    }
                    seq += 1
                }
                return out
            }
        }
        var all: [ClientResult] = []
        for await result in group { all.append(result) }
        return all
    }
    let cpu1 = CPUSample.now()
    let server1 = b.serverCPUSeconds()
    let wall = Double(cpu1.wallNs - cpu0.wallNs) / 1e9
    let latencies = results.flatMap(\.latencies)
    let failures = results.reduce(0) { $0 + $1.failures }
    let rate = Double(latencies.count) / wall
    r.metric("messages sent", Double(latencies.count), "", decimals: 0)
    r.metric("messages/s", rate, "msg/s", decimals: 1)
    r.latency("latency", LatencySummary(nanoseconds: latencies), p95: true, max: true)
    r.cpu(from: cpu0, to: cpu1, server: (server0, server1), perMessage: latencies.count)
    if failures > 0 {
        r.errors.append("\(failures) sends failed; first: \(results.compactMap(\.firstError).first ?? "?")")
    }
    await b.baseline(clients: s.clients, seconds: s.seconds, ours: rate, into: &r)
    return r
}
