import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

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
    for i in 0..<s.messages {
        switch await b.api.timedSend(users[0], conversation: conversation, content: b.content("s", i)) {
        case .ok(let ns, _): latencies.append(ns)
        case .failed(let why):
            failures += 1
            if firstError == nil { firstError = why }
        }
    }
    let cpu1 = CPUSample.now()
    let server1 = b.serverCPUSeconds()
    let wall = Double(cpu1.wallNs - cpu0.wallNs) / 1e9
    let rate = Double(latencies.count) / wall
    r.metric("messages sent", Double(latencies.count), "", decimals: 0)
    r.metric("messages/s", rate, "msg/s", decimals: 1)
    r.latency("latency", LatencySummary(nanoseconds: latencies), p95: true, max: true)
    r.cpu(from: cpu0, to: cpu1, server: (server0, server1))
    if failures > 0 { r.errors.append("\(failures) sends failed; first: \(firstError ?? "?")") }
    await b.baseline(clients: 1, seconds: s.baselineSeconds, ours: rate, into: &r)
    return r
}

// MARK: - 2. Concurrent send

struct ConcurrentSizes: Sendable {
    var clients: Int
    var seconds: Int
}

func runConcurrent(_ b: Bench, _ s: ConcurrentSizes) async throws -> ScenarioReport {
    var r = ScenarioReport(name: "concurrent")
    r.param("clients", s.clients)
    r.param("duration_s", s.seconds)
    log("concurrent: \(s.clients) clients for \(s.seconds) s")
    let users = try await b.api.login(usernames: b.usernames("c", 2 * s.clients))
    let pairs = (0..<s.clients).map { (users[2 * $0], users[2 * $0 + 1]) }
    let conversations = try await boundedMap(pairs, width: 16) { pair in
        try await b.api.createDirect(pair.0, with: pair.1.username)
    }
    // Warm up every connection once.
    await withTaskGroup(of: Void.self) { group in
        for i in 0..<s.clients {
            group.addTask {
                _ = await b.api.timedSend(pairs[i].0, conversation: conversations[i], content: b.content("w", i))
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
                        pairs[i].0, conversation: conversations[i], content: b.content("c", i * 10_000_000 + seq))
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
    r.cpu(from: cpu0, to: cpu1, server: (server0, server1))
    if failures > 0 {
        r.errors.append("\(failures) sends failed; first: \(results.compactMap(\.firstError).first ?? "?")")
    }
    await b.baseline(clients: s.clients, seconds: s.seconds, ours: rate, into: &r)
    return r
}

// MARK: - Paced open-loop sending (delivery and resume)

struct PacedResult: Sendable {
    var postLatencies: [UInt64] = []
    var succeeded: [Bool] = []
    var failures = 0
    var firstError: String?
    var maxLagNs: UInt64 = 0
    var elapsedNs: UInt64 = 0
}

/// Sends `total` messages at `rate`/s without waiting for answers (open loop: a slow server does not slow the
/// schedule). `sendAt(seq)` is called just before each POST; message `seq` goes to conversation `seq % pairs`.
func pacedSend(
    _ b: Bench, total: Int, rate: Double, senders: [BenchUser], conversations: [String], tag: String,
    sendAt: @escaping @Sendable (Int, UInt64) -> Void
) async -> PacedResult {
    let interval = 1e9 / rate
    let start = nowNs() + 20_000_000
    var result = PacedResult()
    result.succeeded = Array(repeating: false, count: total)
    let outcomes = await withTaskGroup(of: (Int, SendOutcome).self) { group in
        var maxLag: UInt64 = 0
        for seq in 0..<total {
            let due = start + UInt64(Double(seq) * interval)
            try? await sleep(untilNs: due)
            let now = nowNs()
            if now > due { maxLag = max(maxLag, now - due) }
            let pair = seq % senders.count
            group.addTask {
                sendAt(seq, nowNs())
                let outcome = await b.api.timedSend(
                    senders[pair], conversation: conversations[pair], content: b.content(tag, seq))
                return (seq, outcome)
            }
        }
        var all: [(Int, SendOutcome)] = []
        for await outcome in group { all.append(outcome) }
        return (all, maxLag)
    }
    result.maxLagNs = outcomes.1
    result.elapsedNs = nowNs() - start
    for (seq, outcome) in outcomes.0 {
        switch outcome {
        case .ok(let ns, _):
            result.postLatencies.append(ns)
            result.succeeded[seq] = true
        case .failed(let why):
            result.failures += 1
            if result.firstError == nil { result.firstError = why }
        }
    }
    return result
}

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

// MARK: - 4. Connection scale

struct ConnectionSizes: Sendable {
    var connections: Int
    var holdSeconds: Double
    var streamsPerUser: Int
    var connectWidth: Int
}

func runConnections(_ b: Bench, _ s: ConnectionSizes) async throws -> ScenarioReport {
    var r = ScenarioReport(name: "connections")
    var k = s.connections
    let headroom: UInt64 = 256
    if b.fileLimit.after > headroom && UInt64(k) > b.fileLimit.after - headroom {
        k = Int(b.fileLimit.after - headroom)
        r.notes.append("capped to \(k) connections by this process's fd limit (\(b.fileLimit.after))")
    }
    r.param("connections", k)
    r.param("streams_per_user", s.streamsPerUser)
    r.param("hold_s", s.holdSeconds)
    if b.fileLimit.after != b.fileLimit.before {
        r.notes.append("raised RLIMIT_NOFILE soft limit from \(b.fileLimit.before) to \(b.fileLimit.after) (hard limit)")
    } else {
        r.notes.append("RLIMIT_NOFILE soft limit is \(b.fileLimit.after)")
    }
    let userCount = (k + s.streamsPerUser - 1) / s.streamsPerUser
    log("connections: logging in \(userCount) users for \(k) idle streams")
    let users = try await b.api.login(usernames: b.usernames("k", userCount), width: 32)
    try await sleep(seconds: 0.5)
    let rssBefore = b.serverRSSKB()
    let fdsBefore = b.serverPid.flatMap { openFileCount(pid: $0) }
    let counters = RawCounters()
    let failures = Locked((count: 0, first: String?.none))
    let cpu0 = CPUSample.now()
    let server0 = b.serverCPUSeconds()
    log("connections: opening \(k) streams")
    let channels: [(any Channel)?] = try await boundedMap(Array(0..<k), width: s.connectWidth) { i in
        do {
            return try await openRawStream(
                group: b.group, target: b.target, token: users[i / s.streamsPerUser].token, counters: counters)
        } catch {
            failures.withLock { f in
                f.count += 1
                if f.first == nil { f.first = "\(error)" }
            }
            return nil
        }
    }
    let openSeconds = Double(nowNs() - cpu0.wallNs) / 1e9
    let established = channels.compactMap { $0 }
    log("connections: \(established.count) established in \(fmt(openSeconds)) s; holding \(s.holdSeconds) s")
    // What idle streams cost while nothing happens (heartbeats, session checks, the safety look).
    try await sleep(seconds: 0.5)
    let idle0 = (nowNs(), b.serverCPUSeconds())
    try await sleep(seconds: s.holdSeconds)
    let idle1 = (nowNs(), b.serverCPUSeconds())
    let idleWall = Double(idle1.0 - idle0.0) / 1e9
    if let a = idle0.1.server, let z = idle1.1.server {
        r.metric("server CPU while idle", (z - a) / idleWall * 100, "% of a core", decimals: 2)
    }
    if let a = idle0.1.database, let z = idle1.1.database {
        r.metric("database CPU while idle", (z - a) / idleWall * 100, "% of a core", decimals: 2)
    }
    let held = established.filter(\.isActive).count
    let rssAfter = b.serverRSSKB()
    let fdsAfter = b.serverPid.flatMap { openFileCount(pid: $0) }
    let cpu1 = CPUSample.now()
    let server1 = b.serverCPUSeconds()
    r.metric("requested", Double(k), "", decimals: 0)
    r.metric("established", Double(established.count), "", decimals: 0)
    r.metric("held", Double(held), "", decimals: 0)
    r.metric("connect time", openSeconds, "s", decimals: 2)
    r.metric("connects/s", Double(established.count) / openSeconds, "conn/s", decimals: 0)
    r.metric("bytes received by client", Double(counters.values.current.bytes), "B", decimals: 0)
    if let rssBefore, let rssAfter {
        r.metric("server RSS before", Double(rssBefore) / 1024, "MiB", decimals: 1)
        r.metric("server RSS after", Double(rssAfter) / 1024, "MiB", decimals: 1)
        r.metric(
            "server bytes/connection", held > 0 ? Double(rssAfter - rssBefore) * 1024 / Double(held) : 0, "B",
            decimals: 0)
    } else {
        r.notes.append("server RSS not measured: pass --server-pid <pid> (reads /proc/<pid>/status VmRSS)")
    }
    r.cpu(from: cpu0, to: cpu1, server: (server0, server1))
    let f = failures.current
    if f.count > 0 { r.errors.append("\(f.count) connections failed; first: \(f.first ?? "?")") }
    if held < established.count {
        r.errors.append("\(established.count - held) established streams were closed during the hold")
    }
    log("connections: closing")
    let closes = established.map { channel -> EventLoopFuture<Void> in
        channel.close(promise: nil)
        return channel.closeFuture
    }
    if let first = closes.first {
        try? await EventLoopFuture.andAllComplete(closes, on: first.eventLoop).get()
    }
    if let fdsBefore, let fdsAfter {
        r.metric("server open fds before", Double(fdsBefore), "", decimals: 0)
        r.metric("server open fds held", Double(fdsAfter), "", decimals: 0)
    }
    if let pid = b.serverPid {
        // How quickly the server lets go of streams whose clients left (sockets, fds, memory).
        try await sleep(seconds: 1)
        if let rssClosed = b.serverRSSKB() {
            r.metric("server RSS 1 s after close", Double(rssClosed) / 1024, "MiB", decimals: 1)
        }
        if let fds = openFileCount(pid: pid) {
            r.metric("server open fds 1 s after close", Double(fds), "", decimals: 0)
            if let fdsBefore, fds > fdsBefore + held / 10 {
                r.notes.append(
                    "1 s after the client closed \(held) streams the server still holds \(fds - fdsBefore) more fds than before "
                        + "(it has not noticed the disconnects yet)")
            }
        }
    }
    return r
}

// MARK: - 5. Group broadcast

struct BroadcastSizes: Sendable {
    var groupSize: Int
    var repeats: Int
}

func runBroadcast(_ b: Bench, _ s: BroadcastSizes) async throws -> ScenarioReport {
    var r = ScenarioReport(name: "broadcast")
    r.param("group_size", s.groupSize)
    r.param("repeats", s.repeats)
    log("broadcast: group of \(s.groupSize), \(s.repeats) repeats")
    let g = max(2, s.groupSize)
    let users = try await b.api.login(usernames: b.usernames("g", g), width: 32)
    let creator = users[0]
    let conversation = try await b.api.createGroup(
        creator, title: "bench \(b.runId)", usernames: users.dropFirst().map(\.username))
    let rounds = s.repeats + 1  // round 0 warms up
    struct State {
        var receivedAt: [[UInt64]]
        var counts: [Int]
        var duplicated = 0
    }
    let state = Locked(
        State(
            receivedAt: Array(repeating: Array(repeating: 0, count: g), count: rounds),
            counts: Array(repeating: 0, count: rounds)))
    let streams = try await b.openStreams(users) { member, event in
        guard let round = b.sequence(in: event, tag: "g"), round >= 0, round < rounds else { return }
        state.withLock { st in
            if st.receivedAt[round][member] == 0 {
                st.receivedAt[round][member] = event.receivedAt
                st.counts[round] += 1
            } else {
                st.duplicated += 1
            }
        }
    }
    var timeToLast: [UInt64] = []
    var perReceipt: [UInt64] = []
    var postLatencies: [UInt64] = []
    var lost = 0
    var failures: [String] = []
    var cpu0 = CPUSample.now()
    var server0 = b.serverCPUSeconds()
    for round in 0..<rounds {
        if round == 1 {
            cpu0 = CPUSample.now()
            server0 = b.serverCPUSeconds()
        }
        let t0 = nowNs()
        switch await b.api.timedSend(creator, conversation: conversation, content: b.content("g", round)) {
        case .ok(let ns, _): if round > 0 { postLatencies.append(ns) }
        case .failed(let why):
            failures.append(why)
            continue
        }
        let complete = await waitUntil(seconds: b.graceSeconds) { state.withLock { $0.counts[round] == g } }
        let times = state.withLock { $0.receivedAt[round] }
        if !complete { lost += times.filter { $0 == 0 }.count }
        if round > 0 {
            let got = times.filter { $0 != 0 }
            if let last = got.max() { timeToLast.append(last &- t0) }
            perReceipt.append(contentsOf: got.map { $0 &- t0 })
        }
        try await sleep(seconds: 0.02)
    }
    let cpu1 = CPUSample.now()
    let server1 = b.serverCPUSeconds()
    let closed = streams.filter(\.isClosed).count
    r.metric("receipts", Double(perReceipt.count), "", decimals: 0)
    r.metric("lost", Double(lost), "", decimals: 0)
    r.metric("duplicated", Double(state.current.duplicated), "", decimals: 0)
    r.latency("time to last", LatencySummary(nanoseconds: timeToLast), p95: false, max: true)
    r.latency("per receipt", LatencySummary(nanoseconds: perReceipt), p95: false, max: false)
    r.latency("POST", LatencySummary(nanoseconds: postLatencies))
    r.cpu(from: cpu0, to: cpu1, server: (server0, server1))
    if lost > 0 { r.errors.append("\(lost) receipts missing after \(b.graceSeconds) s") }
    if state.current.duplicated > 0 { r.errors.append("\(state.current.duplicated) duplicate receipts") }
    if !failures.isEmpty { r.errors.append("\(failures.count) sends failed; first: \(failures[0])") }
    if closed > 0 { r.errors.append("\(closed) streams closed by the server during the run") }
    for stream in streams { stream.channel.close(promise: nil) }
    return r
}

// MARK: - 6. Resume with Last-Event-ID

struct ResumeSizes: Sendable {
    var subscribers: Int
    var rate: Int
    var seconds: Int
    var disconnectEveryMs: Int
    var offlineMaxMs: Int
}

func runResume(_ b: Bench, _ s: ResumeSizes) async throws -> ScenarioReport {
    var r = ScenarioReport(name: "resume")
    r.param("subscribers", s.subscribers)
    r.param("rate_per_s", s.rate)
    r.param("duration_s", s.seconds)
    r.param("disconnect_every_ms", s.disconnectEveryMs)
    r.param("offline_max_ms", s.offlineMaxMs)
    log("resume: \(s.subscribers) subscribers reconnecting every ~\(s.disconnectEveryMs) ms, \(s.rate) msg/s for \(s.seconds) s")
    let total = s.rate * s.seconds
    let n = s.subscribers
    let users = try await b.api.login(usernames: b.usernames("r", 2 * n))
    let senders = (0..<n).map { users[2 * $0] }
    let subscribers = (0..<n).map { users[2 * $0 + 1] }
    let conversations = try await boundedMap(Array(0..<n), width: 16) { i in
        try await b.api.createDirect(senders[i], with: subscribers[i].username)
    }
    struct State {
        var received: [[Bool]]
        var duplicated = 0
        var misdelivered = 0
        var resets = 0
        var reconnects = 0
        var reconnectFailures = 0
        var firstReconnectError: String?
        var noResumePoint = 0
    }
    let state = Locked(
        State(received: Array(repeating: Array(repeating: false, count: total), count: n)))
    @Sendable func onEvent(_ index: Int, _ event: SSEEvent) {
        if event.type == "reset" {
            state.withLock { $0.resets += 1 }
            return
        }
        guard let seq = b.sequence(in: event, tag: "r"), seq >= 0, seq < total else { return }
        state.withLock { st in
            if seq % n != index { st.misdelivered += 1 }
            if st.received[index][seq] { st.duplicated += 1 } else { st.received[index][seq] = true }
        }
    }
    let initial = try await b.openStreams(subscribers, onEvent: onEvent)
    let stop = Locked(false)
    let cpu0 = CPUSample.now()
    let server0 = b.serverCPUSeconds()
    let sender = Task {
        await pacedSend(
            b, total: total, rate: Double(s.rate), senders: senders, conversations: conversations, tag: "r"
        ) { _, _ in }
    }
    // Each subscriber: wait a random while, drop the stream, stay offline a little, resume with Last-Event-ID.
    let finalStreams: [SSEConnection] = await withTaskGroup(of: (Int, SSEConnection).self) { group in
        for i in 0..<n {
            group.addTask {
                var stream = initial[i]
                while !stop.current {
                    let wait = Double(s.disconnectEveryMs) / 1000 * Double.random(in: 0.5...1.5)
                    try? await sleep(seconds: wait)
                    if stop.current { break }
                    await stream.close()
                    let last = stream.lastEventId
                    if last == nil { state.withLock { $0.noResumePoint += 1 } }
                    try? await sleep(seconds: Double.random(in: 0...(Double(s.offlineMaxMs) / 1000)))
                    var attempt = 0
                    while true {
                        attempt += 1
                        do {
                            let next = try await b.openStream(subscribers[i], lastEventId: last) { event in
                                onEvent(i, event)
                            }
                            _ = await waitFirstId(next, seconds: 5)
                            stream = next
                            state.withLock { $0.reconnects += 1 }
                            break
                        } catch {
                            state.withLock { st in
                                st.reconnectFailures += 1
                                if st.firstReconnectError == nil { st.firstReconnectError = "\(error)" }
                            }
                            if attempt >= 20 { return (i, stream) }
                            try? await sleep(seconds: 0.1)
                        }
                    }
                }
                return (i, stream)
            }
        }
        // Stop the reconnect loops once the sender is done.
        _ = await sender.value
        stop.withLock { $0 = true }
        var streams = [SSEConnection?](repeating: nil, count: n)
        for await (i, stream) in group { streams[i] = stream }
        return streams.map { $0! }
    }
    let paced = await sender.value
    let expected: [[Int]] = (0..<n).map { i in (0..<total).filter { $0 % n == i && paced.succeeded[$0] } }
    _ = await waitUntil(seconds: b.graceSeconds) {
        state.withLock { st in (0..<n).allSatisfy { i in expected[i].allSatisfy { st.received[i][$0] } } }
    }
    let cpu1 = CPUSample.now()
    let server1 = b.serverCPUSeconds()
    let st = state.current
    var lost = 0
    for i in 0..<n { lost += expected[i].filter { !st.received[i][$0] }.count }
    let sent = paced.succeeded.filter { $0 }.count
    r.metric("messages sent", Double(sent), "", decimals: 0)
    r.metric("reconnects", Double(st.reconnects), "", decimals: 0)
    r.metric("lost", Double(lost), "", decimals: 0)
    r.metric("duplicated", Double(st.duplicated), "", decimals: 0)
    r.metric("resets", Double(st.resets), "", decimals: 0)
    r.latency("POST", LatencySummary(nanoseconds: paced.postLatencies))
    r.cpu(from: cpu0, to: cpu1, server: (server0, server1))
    if lost > 0 { r.errors.append("\(lost) messages lost across resumes") }
    if st.duplicated > 0 { r.errors.append("\(st.duplicated) messages duplicated across resumes") }
    if st.misdelivered > 0 { r.errors.append("\(st.misdelivered) messages reached the wrong subscriber") }
    if st.resets > 0 { r.errors.append("\(st.resets) reset events (resume point outside the retained window)") }
    if st.noResumePoint > 0 { r.errors.append("\(st.noResumePoint) streams closed before any id: was seen") }
    if st.reconnectFailures > 0 {
        r.errors.append("\(st.reconnectFailures) reconnects failed; first: \(st.firstReconnectError ?? "?")")
    }
    if paced.failures > 0 { r.errors.append("\(paced.failures) sends failed; first: \(paced.firstError ?? "?")") }
    if st.reconnects == 0 { r.errors.append("no reconnect happened: raise --resume-duration") }
    for stream in finalStreams { stream.channel.close(promise: nil) }
    return r
}
