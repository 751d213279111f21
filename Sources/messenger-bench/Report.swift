import Foundation

struct Metric: Sendable {
    let name: String
    let value: Double
    let unit: String
    let decimals: Int
}

/// The outcome of one scenario: parameters, ordered metrics, notes and errors (any error fails the run).
struct ScenarioReport: Sendable {
    let name: String
    var params: [(String, String)] = []
    var metrics: [Metric] = []
    var notes: [String] = []
    var errors: [String] = []

    init(name: String) { self.name = name }

    var ok: Bool { errors.isEmpty }

    mutating func param(_ name: String, _ value: any CustomStringConvertible) {
        params.append((name, value.description))
    }

    mutating func metric(_ name: String, _ value: Double, _ unit: String = "", decimals: Int = 2) {
        metrics.append(Metric(name: name, value: value.isFinite ? value : 0, unit: unit, decimals: decimals))
    }

    mutating func latency(_ prefix: String, _ s: LatencySummary, p95: Bool = false, max: Bool = false) {
        metric("\(prefix) p50", s.p50, "ms", decimals: 3)
        if p95 { metric("\(prefix) p95", s.p95, "ms", decimals: 3) }
        metric("\(prefix) p99", s.p99, "ms", decimals: 3)
        if max { metric("\(prefix) max", s.max, "ms", decimals: 3) }
    }

    /// Client (this process) CPU over a measured phase, and the server's and database's if their pids are known.
    /// CPU over the measured interval; with `perMessage`, also the server's and the database's CPU milliseconds per
    /// message (the issue 16 targets: server ≤ 0.10 ms, database ≤ 0.15 ms).
    mutating func cpu(from start: CPUSample, to end: CPUSample, server: (ServerCPU, ServerCPU), perMessage messages: Int? = nil) {
        let wall = Double(end.wallNs - start.wallNs) / 1e9
        if let messages {
            self.cpuPerUnit("message", count: messages, from: start, to: end, server: server, inMilliseconds: true)
        }
        let user = end.userSeconds - start.userSeconds
        let sys = end.systemSeconds - start.systemSeconds
        metric("client CPU user", user, "s", decimals: 2)
        metric("client CPU sys", sys, "s", decimals: 2)
        metric("client CPU", wall > 0 ? (user + sys) / wall * 100 : 0, "% of 1 core", decimals: 1)
        if let a = server.0.server, let b = server.1.server {
            metric("server CPU", wall > 0 ? (b - a) / wall * 100 : 0, "% of 1 core", decimals: 1)
        }
        if let a = server.0.database, let b = server.1.database {
            metric("database CPU", wall > 0 ? (b - a) / wall * 100 : 0, "% of 1 core", decimals: 1)
        }
        metric("measured wall time", wall, "s", decimals: 2)
    }

    /// Server, database and client (this process) CPU per unit of work over a phase, in microseconds (or
    /// milliseconds). On one machine the client's share matters: its CPU competes with the server's for the same cores.
    mutating func cpuPerUnit(
        _ unit: String, count: Int, from start: CPUSample, to end: CPUSample, server: (ServerCPU, ServerCPU),
        inMilliseconds: Bool = false
    ) {
        guard count > 0 else { return }
        let perUnit = (inMilliseconds ? 1e3 : 1e6) / Double(count)
        let (symbol, decimals) = inMilliseconds ? ("ms", 3) : ("µs", 0)
        if let a = server.0.server, let b = server.1.server {
            metric("server CPU per \(unit)", (b - a) * perUnit, symbol, decimals: decimals)
        }
        if let a = server.0.database, let b = server.1.database {
            metric("database CPU per \(unit)", (b - a) * perUnit, symbol, decimals: decimals)
        }
        let client = end.userSeconds - start.userSeconds + end.systemSeconds - start.systemSeconds
        metric("client CPU per \(unit)", client * perUnit, symbol, decimals: decimals)
    }

    func value(_ name: String) -> Double? { metrics.first(where: { $0.name == name })?.value }

    var jsonObject: [String: Any] {
        var m: [String: Any] = [:]
        var units: [String: String] = [:]
        for metric in metrics {
            let scale = pow(10.0, Double(metric.decimals))
            m[metric.name] = (metric.value * scale).rounded() / scale
            if !metric.unit.isEmpty { units[metric.name] = metric.unit }
        }
        var p: [String: String] = [:]
        for (k, v) in params { p[k] = v }
        return [
            "name": name, "ok": ok, "params": p, "metrics": m, "units": units, "notes": notes, "errors": errors,
        ]
    }

    func printTable() {
        let status = ok ? "ok" : "FAILED"
        print("")
        print("== \(name) [\(status)] " + params.map { "\($0.0)=\($0.1)" }.joined(separator: " "))
        let width = max(24, (metrics.map { $0.name.count }.max() ?? 0) + 2)
        for metric in metrics {
            let label = metric.name.padding(toLength: width, withPad: " ", startingAt: 0)
            let value = fmt(metric.value, metric.decimals)
            let padded = String(repeating: " ", count: max(0, 12 - value.count)) + value
            print("  \(label)\(padded) \(metric.unit)")
        }
        for note in notes { print("  note: \(note)") }
        for error in errors { print("  ERROR: \(error)") }
    }
}

struct RunReport {
    let url: String
    let runId: String
    let quick: Bool
    let startedAt: Date
    var environment: [String: String] = [:]
    var scenarios: [ScenarioReport] = []
    /// The same scenarios on the `--compare` server (never failing the run: see Compare.swift).
    var compared: [ScenarioReport] = []

    var ok: Bool { scenarios.allSatisfy(\.ok) }

    func jsonData() throws -> Data {
        let iso = ISO8601DateFormatter()
        let object: [String: Any] = [
            "tool": "messenger-bench",
            "url": url,
            "runId": runId,
            "quick": quick,
            "startedAt": iso.string(from: startedAt),
            "ok": ok,
            "environment": environment,
            "scenarios": scenarios.map(\.jsonObject),
            "compared": compared.map(\.jsonObject),
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    func printSummary() {
        print("")
        print("== summary (run \(runId), \(quick ? "quick" : "full"), \(url))")
        let rows: [(String, String, String)] = scenarios.map { s in
            (s.name, s.ok ? "ok" : "FAILED", headline(s))
        }
        let w0 = max(10, rows.map { $0.0.count }.max() ?? 0)
        for row in rows {
            print(
                "  \(row.0.padding(toLength: w0, withPad: " ", startingAt: 0))  \(row.1.padding(toLength: 6, withPad: " ", startingAt: 0))  \(row.2)")
        }
    }

    private func headline(_ s: ScenarioReport) -> String {
        func v(_ name: String, _ d: Int = 1) -> String? { s.value(name).map { fmt($0, d) } }
        var parts: [String] = []
        switch s.name {
        case "send", "concurrent":
            if let x = v("messages/s") { parts.append("\(x) msg/s") }
            if let x = v("latency p50", 3), let y = v("latency p99", 3) { parts.append("p50 \(x) ms, p99 \(y) ms") }
            if let x = v("ratio to raw INSERT", 3) { parts.append("ratio to raw INSERT \(x)") }
        case "delivery":
            if let x = v("delivery p50", 3), let y = v("delivery p99", 3), let z = v("delivery max", 3) {
                parts.append("p50 \(x) ms, p99 \(y) ms, max \(z) ms")
            }
            if let x = v("warm-up delivery p99", 3), let y = v("warm-up delivery max", 3) {
                parts.append("warm-up p99 \(x) ms, max \(y) ms")
            }
            if let x = v("lost", 0) { parts.append("lost \(x)") }
        case "connections":
            if let x = v("held", 0) { parts.append("held \(x)") }
            if let x = v("server bytes/connection", 0) { parts.append("\(x) B/conn") }
            if let x = v("connect time", 2) { parts.append("opened in \(x) s") }
            if let x = v("server CPU per stream opened", 0), let y = v("database CPU per stream opened", 0),
                let z = v("client CPU per stream opened", 0)
            {
                parts.append("CPU per stream: server \(x) µs, database \(y) µs, client \(z) µs")
            }
        case "broadcast":
            if let x = v("time to last p50", 3), let y = v("time to last p99", 3) {
                parts.append("last receipt p50 \(x) ms, p99 \(y) ms")
            }
            if let x = v("time to first p50", 3) { parts.append("first p50 \(x) ms") }
            if let x = v("server CPU per message", 2), let y = v("client CPU per message", 2) {
                parts.append("CPU per message: server \(x) ms, client \(y) ms")
            }
            if let x = v("lost", 0) { parts.append("lost \(x)") }
        case "resume":
            if let x = v("lost", 0), let y = v("duplicated", 0) { parts.append("lost \(x), duplicated \(y)") }
            if let x = v("reconnects", 0) { parts.append("\(x) reconnects") }
        default: break
        }
        if let c = v("client CPU") { parts.append("client CPU \(c)%") }
        return parts.joined(separator: "; ")
    }
}
