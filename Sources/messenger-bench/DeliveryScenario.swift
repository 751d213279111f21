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
    /// Seconds of sending before the measured run, reported on their own.
    var warmupSeconds = 0
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

    /// The sends and receipts of one phase (the warm-up, tag "w", or the measured run, tag "d").
    struct Phase {
        var sentAt: [UInt64]
        var receivedAt: [UInt64]
        var received = 0

        init(count: Int) {
            self.sentAt = Array(repeating: 0, count: count)
            self.receivedAt = Array(repeating: 0, count: count)
        }
    }
    struct State {
        var measured: Phase
        var warmup: Phase
        var duplicated = 0
        var misdelivered = 0
        var idleMessages = 0

        subscript(warmup warmup: Bool) -> Phase {
            get { warmup ? self.warmup : self.measured }
            set {
                if warmup { self.warmup = newValue } else { self.measured = newValue }
            }
        }
    }
    let warmupTotal = s.rate * s.warmupSeconds
    let state = Locked(State(measured: Phase(count: total), warmup: Phase(count: warmupTotal)))
    let pairs = s.pairs
    log("delivery: opening \(s.idle) idle + \(s.pairs) recipient streams")
    let idleStreams = try await b.openStreams(idleUsers, on: streamTarget) { _, event in
        if event.type == "message" { state.withLock { $0.idleMessages += 1 } }
    }
    let recipientStreams = try await b.openStreams(recipients, on: streamTarget) { index, event in
        guard let (tag, seq) = b.taggedSequence(in: event), tag == "d" || tag == "w" else { return }
        let phase = tag == "w"
        state.withLock { st in
            guard seq >= 0, seq < st[warmup: phase].receivedAt.count else { return }
            if seq % pairs != index { st.misdelivered += 1 }
            if st[warmup: phase].receivedAt[seq] == 0 {
                st[warmup: phase].receivedAt[seq] = event.receivedAt
                st[warmup: phase].received += 1
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
    /// Sends one phase at the rate and waits until its messages arrived (or the grace time passed).
    func run(warmup phase: Bool, tag: String, count: Int) async -> (PacedResult, complete: Bool) {
        let paced = await pacedSend(
            b, total: count, rate: Double(s.rate), senders: senders, conversations: conversations, tag: tag
        ) { seq, at in
            state.withLock { $0[warmup: phase].sentAt[seq] = at }
        }
        let okCount = paced.succeeded.filter { $0 }.count
        let complete = await waitUntil(seconds: b.graceSeconds) {
            state.withLock { st in
                st[warmup: phase].received >= okCount
                    && (0..<count).allSatisfy { !paced.succeeded[$0] || st[warmup: phase].receivedAt[$0] != 0 }
            }
        }
        return (paced, complete)
    }
    /// Send-to-receipt latencies of a phase's sends that succeeded, and how many of them never arrived.
    func phaseLatencies(_ phase: Phase, _ succeeded: [Bool]) -> (latencies: [UInt64], lost: Int) {
        var latencies: [UInt64] = []
        var lost = 0
        for seq in succeeded.indices where succeeded[seq] {
            if phase.receivedAt[seq] != 0 {
                latencies.append(phase.receivedAt[seq] &- phase.sentAt[seq])
            } else {
                lost += 1
            }
        }
        return (latencies, lost)
    }
    // Right after a thousand streams opened the server is still finishing their work (presence, the tails of the
    // opens) and the tables are fresh: the first second's sends measure that, not delivery at a steady rate. They are
    // reported on their own.
    var warmupLost = 0
    if warmupTotal > 0 {
        let (warmup, _) = await run(warmup: true, tag: "w", count: warmupTotal)
        let (warmupLatencies, lost) = phaseLatencies(state.current.warmup, warmup.succeeded)
        warmupLost = lost
        let summary = LatencySummary(nanoseconds: warmupLatencies)
        r.metric("warm-up delivery p99", summary.p99, "ms", decimals: 3)
        r.metric("warm-up delivery max", summary.max, "ms", decimals: 3)
        r.notes.append("\(s.warmupSeconds) s of warm-up sends before the measured run, reported as warm-up only")
    }
    let cpu0 = CPUSample.now()
    let server0 = b.serverCPUSeconds()
    let (paced, complete) = await run(warmup: false, tag: "d", count: total)
    let okCount = paced.succeeded.filter { $0 }.count
    let cpu1 = CPUSample.now()
    let server1 = b.serverCPUSeconds()
    let st = state.current
    var (latencies, lost) = phaseLatencies(st.measured, paced.succeeded)
    lost += warmupLost
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
