import Foundation
import NIOCore

// MARK: - 3. End-to-end delivery

struct DeliverySizes: Sendable {
    var rate: Int
    var seconds: Int
    var idle: Int
    var pairs: Int
    /// Streams on this second instance (same database) while messages are sent to the main one.
    var subscribeURL: String? = nil
    /// A foreign idle transaction holds an xid during the run.
    var foreignTransaction = false
}

func runDelivery(_ b: Bench, _ s: DeliverySizes) async throws -> ScenarioReport {
    var r = ScenarioReport(name: "delivery")
    r.param("rate_per_s", s.rate)
    r.param("duration_s", s.seconds)
    r.param("idle_subscribers", s.idle)
    r.param("pairs", s.pairs)
    log("delivery: \(s.rate) msg/s for \(s.seconds) s over \(s.pairs) conversations, \(s.idle) idle subscribers")
    let streamTarget = try s.subscribeURL.map { try Target(url: $0) }
    if let url = s.subscribeURL {
        r.param("subscribe_url", url)
        r.notes.append("streams on \(url), sends to the main --url: two processes, one database")
    }
    let total = s.rate * s.seconds
    let users = try await b.api.login(usernames: b.usernames("d", 2 * s.pairs))
    let senders = (0..<s.pairs).map { users[2 * $0] }
    let recipients = (0..<s.pairs).map { users[2 * $0 + 1] }
    let conversations = try await boundedMap(Array(0..<s.pairs), width: 16) { i in
        try await b.api.createDirect(senders[i], with: recipients[i].username)
    }
    let idleUsers = try await b.api.login(usernames: b.usernames("i", s.idle), width: 32)

    struct State {
        var sentAt: [UInt64]
        var receivedAt: [UInt64]
        var received = 0
        var duplicated = 0
        var misdelivered = 0
        var idleMessages = 0
    }
    let state = Locked(State(sentAt: Array(repeating: 0, count: total), receivedAt: Array(repeating: 0, count: total)))
    let pairs = s.pairs
    log("delivery: opening \(s.idle) idle + \(s.pairs) recipient streams")
    let idleStreams = try await b.openStreams(idleUsers, on: streamTarget) { _, event in
        if event.type == "message" { state.withLock { $0.idleMessages += 1 } }
    }
    let recipientStreams = try await b.openStreams(recipients, on: streamTarget) { index, event in
        guard let seq = b.sequence(in: event, tag: "d"), seq >= 0, seq < total else { return }
        state.withLock { st in
            if seq % pairs != index { st.misdelivered += 1 }
            if st.receivedAt[seq] == 0 {
                st.receivedAt[seq] = event.receivedAt
                st.received += 1
            } else {
                st.duplicated += 1
            }
        }
    }
    var foreign: pid_t?
    if s.foreignTransaction {
        guard let pgbench = b.pgbench else { throw BenchError("--foreign-transaction needs --database-url") }
        foreign = try pgbench.holdForeignTransaction(seconds: s.seconds + Int(b.graceSeconds) + 5)
        r.param("foreign_transaction", 1)
        r.notes.append("a foreign transaction (pgbench: BEGIN; INSERT …; pg_sleep) held an xid, idle, for the whole run")
        try await sleep(seconds: 0.5)
    }
    defer { if let foreign { kill(foreign, SIGTERM) } }
    let cpu0 = CPUSample.now()
    let server0 = b.serverCPUSeconds()
    let paced = await pacedSend(
        b, total: total, rate: Double(s.rate), senders: senders, conversations: conversations, tag: "d"
    ) { seq, at in
        state.withLock { $0.sentAt[seq] = at }
    }
    let okCount = paced.succeeded.filter { $0 }.count
    let complete = await waitUntil(seconds: b.graceSeconds) {
        state.withLock { st in
            st.received >= okCount && (0..<total).allSatisfy { !paced.succeeded[$0] || st.receivedAt[$0] != 0 }
        }
    }
    let cpu1 = CPUSample.now()
    let server1 = b.serverCPUSeconds()
    let st = state.current
    var latencies: [UInt64] = []
    var lost = 0
    for seq in 0..<total where paced.succeeded[seq] {
        if st.receivedAt[seq] != 0 {
            latencies.append(st.receivedAt[seq] &- st.sentAt[seq])
        } else {
            lost += 1
        }
    }
    let closedIdle = idleStreams.filter(\.isClosed).count
    let closedRecipients = recipientStreams.filter(\.isClosed).count
    r.metric("messages sent", Double(okCount), "", decimals: 0)
    r.metric("achieved send rate", Double(okCount) / (Double(paced.elapsedNs) / 1e9), "msg/s", decimals: 1)
    r.metric("delivered", Double(latencies.count), "", decimals: 0)
    r.metric("lost", Double(lost), "", decimals: 0)
    r.metric("duplicated", Double(st.duplicated), "", decimals: 0)
    r.latency("delivery", LatencySummary(nanoseconds: latencies), p95: true, max: true)
    r.latency("POST", LatencySummary(nanoseconds: paced.postLatencies))
    r.metric("max pacing lag", Double(paced.maxLagNs) / 1e6, "ms", decimals: 3)
    r.metric(
        "streams open", Double(idleStreams.count + recipientStreams.count - closedIdle - closedRecipients), "",
        decimals: 0)
    r.cpu(from: cpu0, to: cpu1, server: (server0, server1))
    if lost > 0 { r.errors.append("\(lost) messages lost (not received within \(b.graceSeconds) s)") }
    if !complete && lost == 0 { r.errors.append("delivery did not complete") }
    if st.duplicated > 0 { r.errors.append("\(st.duplicated) messages delivered twice") }
    if st.misdelivered > 0 { r.errors.append("\(st.misdelivered) messages reached the wrong recipient") }
    if st.idleMessages > 0 { r.errors.append("idle subscribers received \(st.idleMessages) messages") }
    if paced.failures > 0 { r.errors.append("\(paced.failures) sends failed; first: \(paced.firstError ?? "?")") }
    if closedIdle + closedRecipients > 0 {
        r.errors.append("\(closedIdle + closedRecipients) streams closed by the server during the run")
    }
    if Double(paced.maxLagNs) / 1e9 > 0.25 {
        r.notes.append("the client fell behind its schedule by up to \(fmt(Double(paced.maxLagNs) / 1e6)) ms")
    }
    for stream in idleStreams + recipientStreams { stream.channel.close(promise: nil) }
    return r
}
