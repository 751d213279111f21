import Foundation

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
    // The round is found by a byte search, not by decoding the JSON: the callback runs on the client's event loop
    // before it reads the next stream, so a ~30 µs decode per receipt would add ~15 ms to the time until the 1,000th
    // member's receipt is even looked at (the client measuring itself, not the server).
    let marker = Array("m \(b.runId) g ".utf8)
    // The members' streams are read by one thread with plain sockets (``RawStreamOpener``): through NIO the client's
    // reading cost 14.6–17.6 ms of CPU per message on the cores the server's writing needs.
    guard let address = b.target.address else { throw BenchError("cannot resolve \(b.target.host)") }
    let requests = RawStreamOpener.requests(target: b.target, tokens: users.map(\.token))
    let streams = RawStreamOpener(address: address, requests: requests, width: 64) { member, event in
        guard event.type == "message", let round = roundNumber(in: event.data, after: marker), round >= 0, round < rounds else { return }
        state.withLock { st in
            if st.receivedAt[round][member] == 0 {
                st.receivedAt[round][member] = event.receivedAt
                st.counts[round] += 1
            } else {
                st.duplicated += 1
            }
        }
    }
    let opened = await streams.open()
    if opened.failed > 0 {
        await streams.close()
        throw BenchError("\(opened.failed) of \(g) streams did not open; first: \(opened.firstFailure ?? "?")")
    }
    var timeToLast: [UInt64] = []
    var timeToFirst: [UInt64] = []
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
            if let first = got.min() { timeToFirst.append(first &- t0) }
            perReceipt.append(contentsOf: got.map { $0 &- t0 })
        }
        try await sleep(seconds: 0.02)
    }
    let cpu1 = CPUSample.now()
    let server1 = b.serverCPUSeconds()
    let closed = streams.counts.endedByServer
    r.metric("receipts", Double(perReceipt.count), "", decimals: 0)
    r.metric("lost", Double(lost), "", decimals: 0)
    r.metric("duplicated", Double(state.current.duplicated), "", decimals: 0)
    r.latency("time to last", LatencySummary(nanoseconds: timeToLast), p95: false, max: true)
    // The first member's receipt is the send plus the dispatcher's read; from there to the last is the fan-out itself
    // (the server's writes and this client's reads, on the same cores).
    r.latency("time to first", LatencySummary(nanoseconds: timeToFirst), p95: false, max: false)
    r.latency("per receipt", LatencySummary(nanoseconds: perReceipt), p95: false, max: false)
    r.latency("POST", LatencySummary(nanoseconds: postLatencies))
    // Per message sent (each reaching the whole group): what one fan-out costs the server, the database and this
    // client, whose reading of the group's streams runs on the same cores as the server's writing.
    r.cpu(from: cpu0, to: cpu1, server: (server0, server1), perMessage: s.repeats)
    if lost > 0 { r.errors.append("\(lost) receipts missing after \(b.graceSeconds) s") }
    if state.current.duplicated > 0 { r.errors.append("\(state.current.duplicated) duplicate receipts") }
    if !failures.isEmpty { r.errors.append("\(failures.count) sends failed; first: \(failures[0])") }
    if closed > 0 { r.errors.append("\(closed) streams closed by the server during the run") }
    await streams.close()
    return r
}

/// The decimal number right after `marker` in `data` (the round in a message's content "m <run> g <round>").
private func roundNumber(in data: [UInt8], after marker: [UInt8]) -> Int? {
    guard data.count > marker.count else { return nil }
    var start = 0
    while start + marker.count <= data.count {
        if data[start] == marker[0] && data[start..<start + marker.count].elementsEqual(marker) {
            var index = start + marker.count
            var value = 0
            var digits = 0
            while index < data.count, data[index] >= UInt8(ascii: "0"), data[index] <= UInt8(ascii: "9") {
                value = value * 10 + Int(data[index] - UInt8(ascii: "0"))
                digits += 1
                index += 1
            }
            return digits > 0 ? value : nil
        }
        start += 1
    }
    return nil
}
