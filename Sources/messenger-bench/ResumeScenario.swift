import Foundation
import NIOCore

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
