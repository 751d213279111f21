import Foundation
import NIOCore

// MARK: - 4. Connection scale

struct ConnectionSizes: Sendable {
    var connections: Int
    var holdSeconds: Double
    var streamsPerUser: Int
    var connectWidth: Int
    /// Open the streams on this instance instead of `--url` (users still log in at `--url`): a process that issued
    /// none of the tokens, so every session check and token verification is its first.
    var subscribeURL: String? = nil
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
    let streamTarget = try s.subscribeURL.map { try Target(url: $0) } ?? b.target
    if let url = s.subscribeURL {
        r.param("subscribe_url", url)
        r.notes.append("streams opened on \(url) (users logged in at --url); server RSS and CPU rows are of --server-pid")
    }
    let userCount = (k + s.streamsPerUser - 1) / s.streamsPerUser
    log("connections: logging in \(userCount) users for \(k) idle streams")
    let users = try await b.api.login(usernames: b.usernames("k", userCount), width: 32)
    try await sleep(seconds: 0.5)
    let rssBefore = b.serverRSSKB()
    let fdsBefore = b.serverPid.flatMap { openFileCount(pid: $0) }
    guard let address = streamTarget.address else { throw BenchError("cannot resolve \(streamTarget.host)") }
    let tokens = (0..<k).map { users[$0 / s.streamsPerUser].token }
    let opener = RawStreamOpener(
        address: address, requests: RawStreamOpener.requests(target: streamTarget, tokens: tokens), width: s.connectWidth)
    let cpu0 = CPUSample.now()
    let server0 = b.serverCPUSeconds()
    log("connections: opening \(k) streams")
    let opened = await opener.open()
    let openSeconds = Double(nowNs() - cpu0.wallNs) / 1e9
    log("connections: \(opened.established) established in \(fmt(openSeconds)) s; holding \(s.holdSeconds) s")
    // What idle streams cost while nothing happens (heartbeats, session checks, the safety look).
    try await sleep(seconds: 0.5)
    let idle0 = (nowNs(), b.serverCPUSeconds())
    // What one stream costs to open, the half second after included (the opens' tails: presence, logging): on one
    // machine the client's share competes with the server's for the same cores, and the sum bounds the connect time.
    r.cpuPerUnit("stream opened", count: opened.established, from: cpu0, to: CPUSample.now(), server: (server0, idle0.1))
    try await sleep(seconds: s.holdSeconds)
    let idle1 = (nowNs(), b.serverCPUSeconds())
    let idleWall = Double(idle1.0 - idle0.0) / 1e9
    if let a = idle0.1.server, let z = idle1.1.server {
        r.metric("server CPU while idle", (z - a) / idleWall * 100, "% of a core", decimals: 2)
    }
    if let a = idle0.1.database, let z = idle1.1.database {
        r.metric("database CPU while idle", (z - a) / idleWall * 100, "% of a core", decimals: 2)
    }
    let heldCounts = opener.counts
    let held = heldCounts.established - heldCounts.endedByServer
    let rssAfter = b.serverRSSKB()
    let fdsAfter = b.serverPid.flatMap { openFileCount(pid: $0) }
    let cpu1 = CPUSample.now()
    let server1 = b.serverCPUSeconds()
    r.metric("requested", Double(k), "", decimals: 0)
    r.metric("established", Double(opened.established), "", decimals: 0)
    r.metric("held", Double(held), "", decimals: 0)
    r.metric("connect time", openSeconds, "s", decimals: 2)
    r.metric("connects/s", Double(opened.established) / openSeconds, "conn/s", decimals: 0)
    r.metric("bytes received by client", Double(heldCounts.bytes), "B", decimals: 0)
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
    if opened.failed > 0 { r.errors.append("\(opened.failed) connections failed; first: \(opened.firstFailure ?? "?")") }
    if held < opened.established {
        r.errors.append("\(opened.established - held) established streams were closed during the hold")
    }
    log("connections: closing")
    await opener.close()
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
