import Foundation
import NIOCore

// MARK: - 1. Sequential send

struct SendSizes: Sendable {
    var messages: Int
    var warmup: Int
    var baselineSeconds: Int
}

func runSend(_ b: Bench, _ s: SendSizes) async throws -> ScenarioReport {
    var r = ScenarioReport(name: "send")
    r.param("messages", s.messages)
    log("send: \(s.messages) messages, one client")
    let users = try await b.api.login(usernames: b.usernames("s", 2))
    let conversation = try await b.api.createDirect(users[0], with: users[1].username)
    for i in 0..<s.warmup {
        _ = await b.api.timedSend(users[0], conversation: conversation, content: b.content("w", i))
    }
    var latencies: [UInt64] = []
    latencies.reserveCapacity(s.messages)
    var failures = 0
    var firstError: String?
    let cpu0 = CPUSample.now()
    let server0 = b.serverCPUSeconds()
    if let keepAlive = b.api.keepAlive {
        // Driven from the client's event loop, one request written as the last answer ends (see
        // `KeepAliveHTTP.sequence`): the client's own thread hand-offs are not the server's latency.
        let sender = users[0]
        let path = "/api/conversations/\(conversation)/messages"
        let contents = (0..<s.messages).map { b.content("s", $0) }
        do {
            let answers = try await keepAlive.sequence(count: s.messages, .POST) { i in
                (path, sender.token, #"{"content":"\#(contents[i])"}"#)
            }
            for (ns, result) in answers {
                if result.status == 201 || result.status == 200 {
                    latencies.append(ns)
                } else {
                    failures += 1
                    if firstError == nil { firstError = "POST message -> \(result.status): \(result.text.prefix(200))" }
                }
            }
        } catch {
            failures += 1
            firstError = "POST message: \(error)"
        }
    } else {
        for i in 0..<s.messages {
            switch await b.api.timedSend(users[0], conversation: conversation, content: b.content("s", i)) {
            case .ok(let ns, _): latencies.append(ns)
            case .failed(let why):
                failures += 1
                if firstError == nil { firstError = why }
            }
        }
    }
    let cpu1 = CPUSample.now()
    let server1 = b.serverCPUSeconds()
    let wall = Double(cpu1.wallNs - cpu0.wallNs) / 1e9
    let rate = Double(latencies.count) / wall
    r.metric("messages sent", Double(latencies.count), "", decimals: 0)
    r.metric("messages/s", rate, "msg/s", decimals: 1)
    r.latency("latency", LatencySummary(nanoseconds: latencies), p95: true, max: true)
    r.cpu(from: cpu0, to: cpu1, server: (server0, server1), perMessage: latencies.count)
    if failures > 0 { r.errors.append("\(failures) sends failed; first: \(firstError ?? "?")") }
    await b.baseline(clients: 1, seconds: s.baselineSeconds, ours: rate, into: &r)
    return r
}
