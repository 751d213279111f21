import Foundation

// MARK: - Presence and typing fan-out

struct PresenceSizes: Sendable {
    var groupSize: Int
    /// Members who come online one after another (each an `online` event to everyone already there).
    var arrivals: Int
    /// Members who start typing one after another (each a `typing` event to every other member).
    var typists: Int
}

/// A group whose members all hold a stream: `arrivals` members come online one at a time, then `typists` members
/// type one at a time. Measures, per change, the time until the last member has the event, and events/s with the
/// server's CPU per delivered event (presence and typing are not stored: this is pure fan-out).
func runPresence(_ b: Bench, _ s: PresenceSizes) async throws -> ScenarioReport {
    var r = ScenarioReport(name: "presence")
    let g = max(4, s.groupSize)
    let arrivals = min(max(1, s.arrivals), g / 2)
    let typists = min(max(1, s.typists), g - arrivals - 1)
    r.param("group_size", g)
    r.param("arrivals", arrivals)
    r.param("typists", typists)
    log("presence: group of \(g), \(arrivals) arrivals, \(typists) typists")
    let users = try await b.api.login(usernames: b.usernames("p", g), width: 32)
    let conversation = try await b.api.createGroup(
        users[0], title: "presence \(b.runId)", usernames: users.dropFirst().map(\.username))
    let index = Dictionary(uniqueKeysWithValues: users.enumerated().map { ($0.element.id, $0.offset) })

    struct State {
        /// Per changing member (by index): receipts and the last receipt time.
        var online: [Int: (count: Int, last: UInt64)] = [:]
        var typing: [Int: (count: Int, last: UInt64)] = [:]
    }
    let state = Locked(State())
    @Sendable func record(_ event: SSEEvent) {
        guard event.type == "presence" || event.type == "typing",
            let object = try? JSONSerialization.jsonObject(with: Data(event.data)) as? [String: Any],
            let userID = object["userId"] as? String, let who = index[userID]
        else { return }
        state.withLock { st in
            if event.type == "presence", object["online"] as? Bool == true {
                let old = st.online[who] ?? (0, 0)
                st.online[who] = (old.count + 1, max(old.last, event.receivedAt))
            } else if event.type == "typing", object["typing"] as? Bool == true {
                let old = st.typing[who] ?? (0, 0)
                st.typing[who] = (old.count + 1, max(old.last, event.receivedAt))
            }
        }
    }
    // Everybody but the arrivals is there from the start.
    let arrivingUsers = Array(users[(g - arrivals)...])
    var streams = try await b.openStreams(Array(users[..<(g - arrivals)])) { _, event in record(event) }
    try await sleep(seconds: 0.5)

    var cpu0 = CPUSample.now()
    var server0 = b.serverCPUSeconds()
    var onlineTimes: [UInt64] = []
    var missing = 0
    for (offset, user) in arrivingUsers.enumerated() {
        let who = g - arrivals + offset
        let audience = g - arrivals + offset  // members with a stream when this one arrives
        let t0 = nowNs()
        streams.append(try await b.openStream(user) { event in record(event) })
        let done = await waitUntil(seconds: b.graceSeconds) { state.withLock { ($0.online[who]?.count ?? 0) >= audience } }
        if !done { missing += audience - (state.withLock { $0.online[who]?.count ?? 0 }) }
        if let last = state.withLock({ $0.online[who]?.last }), last > t0 { onlineTimes.append(last - t0) }
    }
    let cpu1 = CPUSample.now()
    let server1 = b.serverCPUSeconds()
    let onlineEvents = state.withLock { st in ((g - arrivals)..<g).reduce(0) { $0 + (st.online[$1]?.count ?? 0) } }

    var typingTimes: [UInt64] = []
    let cpu2 = CPUSample.now()
    let server2 = b.serverCPUSeconds()
    for who in 1...typists {
        let t0 = nowNs()
        let result = try await b.api.call(
            .POST, "/api/conversations/\(conversation)/typing", token: users[who].token, json: #"{"typing":true}"#)
        if result.status != 204 { r.errors.append("typing -> \(result.status)") }
        let done = await waitUntil(seconds: b.graceSeconds) { state.withLock { ($0.typing[who]?.count ?? 0) >= g - 1 } }
        if !done { missing += g - 1 - (state.withLock { $0.typing[who]?.count ?? 0 }) }
        if let last = state.withLock({ $0.typing[who]?.last }), last > t0 { typingTimes.append(last - t0) }
    }
    let cpu3 = CPUSample.now()
    let server3 = b.serverCPUSeconds()
    let typingEvents = state.withLock { $0.typing.values.reduce(0) { $0 + $1.count } }

    r.metric("presence events delivered", Double(onlineEvents), "", decimals: 0)
    r.latency("online → last member", LatencySummary(nanoseconds: onlineTimes), p95: false, max: true)
    r.metric("presence events/s", Double(onlineEvents) / (Double(cpu1.wallNs - cpu0.wallNs) / 1e9), "ev/s", decimals: 0)
    if let a = server0.server, let z = server1.server, onlineEvents > 0 {
        r.metric("server CPU per presence event", (z - a) / Double(onlineEvents) * 1e6, "µs", decimals: 1)
    }
    r.metric("typing events delivered", Double(typingEvents), "", decimals: 0)
    r.latency("typing → last member", LatencySummary(nanoseconds: typingTimes), p95: false, max: true)
    r.metric("typing events/s", Double(typingEvents) / (Double(cpu3.wallNs - cpu2.wallNs) / 1e9), "ev/s", decimals: 0)
    if let a = server2.server, let z = server3.server, typingEvents > 0 {
        r.metric("server CPU per typing event", (z - a) / Double(typingEvents) * 1e6, "µs", decimals: 1)
    }
    cpu0 = cpu2
    server0 = server2
    r.cpu(from: cpu0, to: cpu3, server: (server0, server3))
    if missing > 0 { r.errors.append("\(missing) presence/typing receipts missing after \(b.graceSeconds) s") }
    for stream in streams { stream.channel.close(promise: nil) }
    return r
}
