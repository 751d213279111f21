import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix

// MARK: - Options

struct CommonOptions: ParsableArguments {
    @Option(help: "Base URL of the running server.")
    var url: String = "http://127.0.0.1:3000"

    @Option(
        help:
            "Open the streams of `delivery` (the two-process latency) and `connections` (cold caches: a process that issued none of the tokens) on this second instance (same database); everything else goes to --url."
    )
    var subscribeURL: String?

    @Flag(help: "Small sizes for every scenario (the whole `all` run takes well under a minute).")
    var quick = false

    @Option(help: "Write the JSON report to this file (default: print a JSON block at the end).")
    var json: String?

    @Option(help: "Server process id: enables server RSS (/proc/<pid>/status) and server CPU (process tree).")
    var serverPid: Int?

    @Option(help: "PostgreSQL postmaster pid: adds the database's CPU (its process tree) to every scenario.")
    var databasePid: Int?

    @Option(
        help: ArgumentHelp(
            "PostgreSQL URL of the server's database, for the pgbench raw-INSERT baseline.",
            discussion: "Defaults to $MESSENGER_BENCH_DATABASE_URL. Without it (or --pgbench-args) the ratio is skipped."))
    var databaseUrl: String?

    @Option(
        parsing: .unconditional,
        help: "pgbench connection arguments instead of a URL, e.g. \"-h /tmp/sock -p 5432 -U postgres messenger\".")
    var pgbenchArgs: String?

    @Option(help: "Seconds pgbench runs for the 1-client baseline of `send` (default 5, quick 2).")
    var baselineSeconds: Int?

    @Option(help: "Client event loop threads (shared by all HTTP connections and SSE streams).")
    var eventLoops: Int = 1

    @Option(
        help:
            "HTTP client of the measured sends: `keepalive` (plain HTTP/1.1 connections, little client CPU) or `ahc` (AsyncHTTPClient, as measured before 2026-11-26)."
    )
    var httpClient: MeasuredHTTPClient = .keepalive

    @Option(help: "Seconds to wait for late messages after sending stops (default 10, quick 5).")
    var grace: Double?

    @Option(help: "Seconds to wait for GET /readyz before starting.")
    var waitReady: Double = 60

    @Option(
        help: ArgumentHelp(
            "Also run every scenario against this other tutorial-compatible server and print both side by side.",
            discussion: "Scenarios needing our extensions are reported as skipped there (see Compare.swift)."))
    var compare: String?

    @Option(help: "Process id of the --compare server: its CPU (process tree) in the comparison.")
    var compareServerPid: Int?

    @Option(help: "PostgreSQL postmaster pid of the --compare server's database: its CPU in the comparison.")
    var compareDatabasePid: Int?
}

struct SendOptions: ParsableArguments {
    @Option(name: [.customShort("n"), .long], help: "Messages for `send` (default 2000, quick 200).")
    var messages: Int?
}

struct ConcurrentOptions: ParsableArguments {
    @Option(name: [.customShort("c"), .long], help: "Clients for `concurrent`, each its own conversation (default 16, quick 4).")
    var clients: Int?

    @Option(help: "Seconds `concurrent` runs (default 10, quick 3); pgbench runs as long.")
    var duration: Int?

    @Option(
        help: "`concurrent` with every client in this many shared groups, sending to them in turn (default: none: own conversations).")
    var groups: Int?
}

struct DeliveryOptions: ParsableArguments {
    @Option(help: "Messages per second for `delivery` (default 200, quick 50).")
    var rate: Int?

    @Option(help: "Seconds of paced sending for `delivery` (default 10, quick 3).")
    var deliveryDuration: Int?

    @Option(help: "Idle subscribers (users with an SSE stream and no traffic) during `delivery` (default 1000, quick 50).")
    var idle: Int?

    @Option(help: "Sender/recipient conversations the `delivery` load is spread over (default 10, quick 4).")
    var pairs: Int?

    @Flag(help: "Hold a foreign transaction (with an xid, idle) open on the database during `delivery` (needs --database-url).")
    var foreignTransaction = false

    @Option(
        help:
            "Seconds of paced sending at the same rate before `delivery` measures, reported on their own (default 1, quick 0): the server is still settling the streams just opened then."
    )
    var warmupSeconds: Int?
}

struct ConnectionOptions: ParsableArguments {
    @Option(name: [.customShort("k"), .long], help: "Idle SSE streams for `connections` (default 10000, quick 500).")
    var connections: Int?

    @Option(help: "Seconds to hold the streams open (default 5, quick 1).")
    var hold: Double?

    @Option(help: "Streams per user (the server allows 10 per user).")
    var streamsPerUser: Int = 5

    @Option(help: "Connections being opened at once.")
    var connectConcurrency: Int = 128
}

struct BroadcastOptions: ParsableArguments {
    @Option(name: [.customShort("g"), .long], help: "Group members, all subscribed (default 200, quick 20).")
    var groupSize: Int?

    @Option(help: "Broadcast repeats (default 30, quick 5).")
    var repeats: Int?
}

struct PresenceOptions: ParsableArguments {
    @Option(help: "Group members, all subscribed, for `presence` (default 1000, quick 20).")
    var presenceGroupSize: Int?

    @Option(help: "Members who come online one by one during `presence` (default 20, quick 3).")
    var arrivals: Int?

    @Option(help: "Members who start typing one by one during `presence` (default 20, quick 3).")
    var typists: Int?

    func sizes(quick: Bool) -> PresenceSizes {
        PresenceSizes(
            groupSize: presenceGroupSize ?? (quick ? 20 : 1000), arrivals: arrivals ?? (quick ? 3 : 20), typists: typists ?? (quick ? 3 : 20))
    }
}

struct ResumeOptions: ParsableArguments {
    @Option(help: "Subscribers that keep dropping and resuming their stream (default 10, quick 4).")
    var subscribers: Int?

    @Option(help: "Messages per second during `resume` (default 100, quick 40).")
    var resumeRate: Int?

    @Option(help: "Seconds of sending during `resume` (default 10, quick 4).")
    var resumeDuration: Int?

    @Option(help: "Mean milliseconds between a subscriber's disconnects (default 1000, quick 400).")
    var disconnectEvery: Int?

    @Option(help: "Longest random offline time before resuming, in milliseconds.")
    var offlineMax: Int = 200
}

extension SendOptions {
    func sizes(quick: Bool, baselineSeconds: Int?) -> SendSizes {
        SendSizes(
            messages: messages ?? (quick ? 200 : 2000), warmup: quick ? 10 : 50,
            baselineSeconds: baselineSeconds ?? (quick ? 2 : 5))
    }
}

extension ConcurrentOptions {
    func sizes(quick: Bool) -> ConcurrentSizes {
        ConcurrentSizes(clients: clients ?? (quick ? 4 : 16), seconds: duration ?? (quick ? 3 : 10), groups: groups)
    }
}

extension DeliveryOptions {
    func sizes(quick: Bool, subscribeURL: String? = nil) -> DeliverySizes {
        DeliverySizes(
            rate: rate ?? (quick ? 50 : 200), seconds: deliveryDuration ?? (quick ? 3 : 10),
            idle: idle ?? (quick ? 50 : 1000), pairs: pairs ?? (quick ? 4 : 10), subscribeURL: subscribeURL,
            foreignTransaction: foreignTransaction, warmupSeconds: max(0, warmupSeconds ?? (quick ? 0 : 1)))
    }
}

extension ConnectionOptions {
    func sizes(quick: Bool, subscribeURL: String? = nil) -> ConnectionSizes {
        ConnectionSizes(
            connections: connections ?? (quick ? 500 : 10000), holdSeconds: hold ?? (quick ? 1 : 5),
            streamsPerUser: max(1, streamsPerUser), connectWidth: max(1, connectConcurrency), subscribeURL: subscribeURL)
    }
}

extension BroadcastOptions {
    func sizes(quick: Bool) -> BroadcastSizes {
        BroadcastSizes(groupSize: groupSize ?? (quick ? 20 : 200), repeats: repeats ?? (quick ? 5 : 30))
    }
}

extension ResumeOptions {
    func sizes(quick: Bool) -> ResumeSizes {
        ResumeSizes(
            subscribers: subscribers ?? (quick ? 4 : 10), rate: resumeRate ?? (quick ? 40 : 100),
            seconds: resumeDuration ?? (quick ? 4 : 10), disconnectEveryMs: disconnectEvery ?? (quick ? 400 : 1000),
            offlineMaxMs: max(0, offlineMax))
    }
}

// MARK: - Commands

@main
struct MessengerBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "messenger-bench",
        abstract: "Benchmarks a running messenger server through its public HTTP API and SSE.",
        discussion: """
            Every scenario creates its own users (dev login, POST /api/login {"username"}), so the server must run \
            with dev login enabled. Results: a table on stdout plus JSON (--json FILE, else a block at the end). \
            Exit status is non-zero when any message is lost or duplicated or any scenario fails.
            """,
        subcommands: [
            AllCommand.self, SendCommand.self, ConcurrentCommand.self, DeliveryCommand.self,
            ConnectionsCommand.self, BroadcastCommand.self, ResumeCommand.self, ListingCommand.self, PresenceCommand.self,
            SearchCommand.self,
        ]
    )
}

struct AllCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "all", abstract: "Run every scenario in turn.")
    @OptionGroup var common: CommonOptions
    @OptionGroup var send: SendOptions
    @OptionGroup var concurrent: ConcurrentOptions
    @OptionGroup var delivery: DeliveryOptions
    @OptionGroup var connections: ConnectionOptions
    @OptionGroup var broadcast: BroadcastOptions
    @OptionGroup var resume: ResumeOptions
    @OptionGroup var presence: PresenceOptions

    func run() async throws {
        let q = common.quick
        let presenceSizes = presence.sizes(quick: q)
        let sendSizes = send.sizes(quick: q, baselineSeconds: common.baselineSeconds)
        let concurrentSizes = concurrent.sizes(quick: q)
        let deliverySizes = delivery.sizes(quick: q, subscribeURL: common.subscribeURL)
        let connectionSizes = connections.sizes(quick: q, subscribeURL: common.subscribeURL)
        let broadcastSizes = broadcast.sizes(quick: q)
        let resumeSizes = resume.sizes(quick: q)
        try await runBench(
            common,
            [
                ("send", { try await runSend($0, sendSizes) }),
                ("concurrent", { try await runConcurrent($0, concurrentSizes) }),
                ("delivery", { try await runDelivery($0, deliverySizes) }),
                ("broadcast", { try await runBroadcast($0, broadcastSizes) }),
                ("resume", { try await runResume($0, resumeSizes) }),
                ("presence", { try await runPresence($0, presenceSizes) }),
                // Last: thousands of closed streams can keep a server busy afterwards (see SERVER-FINDINGS.md).
                ("connections", { try await runConnections($0, connectionSizes) }),
            ])
    }
}

struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send", abstract: "One client sends N messages sequentially; msg/s, p50/p99, 1-client raw INSERT ratio.")
    @OptionGroup var common: CommonOptions
    @OptionGroup var options: SendOptions
    func run() async throws {
        let sizes = options.sizes(quick: common.quick, baselineSeconds: common.baselineSeconds)
        try await runBench(common, [("send", { try await runSend($0, sizes) })])
    }
}

struct ConcurrentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "concurrent",
        abstract: "C clients (own conversations) send for a fixed time; msg/s, p50/p99, ratio to pgbench raw INSERT.")
    @OptionGroup var common: CommonOptions
    @OptionGroup var options: ConcurrentOptions
    func run() async throws {
        let sizes = options.sizes(quick: common.quick)
        try await runBench(common, [("concurrent", { try await runConcurrent($0, sizes) })])
    }
}

struct DeliveryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delivery",
        abstract: "R msg/s for D s with M idle subscribers; send-to-SSE-receipt latency p50/p95/p99/max, lost.")
    @OptionGroup var common: CommonOptions
    @OptionGroup var options: DeliveryOptions
    func run() async throws {
        let sizes = options.sizes(quick: common.quick, subscribeURL: common.subscribeURL)
        try await runBench(common, [("delivery", { try await runDelivery($0, sizes) })])
    }
}

struct ConnectionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connections",
        abstract: "Hold K idle SSE streams; how many held, server RSS before/after, bytes per connection.")
    @OptionGroup var common: CommonOptions
    @OptionGroup var options: ConnectionOptions
    func run() async throws {
        let sizes = options.sizes(quick: common.quick, subscribeURL: common.subscribeURL)
        try await runBench(common, [("connections", { try await runConnections($0, sizes) })])
    }
}

struct BroadcastCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broadcast",
        abstract: "One message to a group of G subscribed members; time to the last receipt, p50/p99 over repeats.")
    @OptionGroup var common: CommonOptions
    @OptionGroup var options: BroadcastOptions
    func run() async throws {
        let sizes = options.sizes(quick: common.quick)
        try await runBench(common, [("broadcast", { try await runBroadcast($0, sizes) })])
    }
}

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Subscribers drop and resume with Last-Event-ID under a send load; lost/duplicated (must be 0/0).")
    @OptionGroup var common: CommonOptions
    @OptionGroup var options: ResumeOptions
    func run() async throws {
        let sizes = options.sizes(quick: common.quick)
        try await runBench(common, [("resume", { try await runResume($0, sizes) })])
    }
}

// MARK: - Driver

typealias Scenario = (name: String, run: @Sendable (Bench) async throws -> ScenarioReport)

func runBench(_ common: CommonOptions, _ scenarios: [Scenario]) async throws {
    let fileLimit = raiseFileLimit()
    let target = try Target(url: common.url)
    let runId = randomRunId()
    let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, common.eventLoops))
    var config = HTTPClient.Configuration()
    config.httpVersion = .http1Only
    config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 1024)
    config.timeout = .init(connect: .seconds(10), read: .seconds(60))
    let http = HTTPClient(eventLoopGroup: group, configuration: config)
    let keepAlive = common.httpClient == .keepalive ? KeepAliveHTTP(group: group, target: target) : nil
    let api = API(client: http, target: target, counters: HTTPCounters(), keepAlive: keepAlive)

    var pgbench: PgBench?
    var skipReason = ""
    let env = ProcessInfo.processInfo.environment
    let connectionArgs: [String]?
    if let args = common.pgbenchArgs {
        connectionArgs = args.split(separator: " ").map(String.init)
    } else if let url = common.databaseUrl ?? env["MESSENGER_BENCH_DATABASE_URL"], !url.isEmpty {
        connectionArgs = [url]
    } else {
        connectionArgs = nil
        skipReason = "no --database-url / --pgbench-args given"
    }
    if let connectionArgs {
        if let exe = PgBench.find() {
            pgbench = PgBench(connectionArgs: connectionArgs, executable: exe)
        } else {
            skipReason = "pgbench not found in PATH"
        }
    }

    let bench = Bench(
        group: group, api: api, target: target, runId: runId, quick: common.quick,
        serverPid: common.serverPid.map { Int32($0) }, databasePid: common.databasePid.map { Int32($0) }, pgbench: pgbench,
        pgbenchSkipReason: skipReason,
        graceSeconds: common.grace ?? (common.quick ? 5 : 10), fileLimit: fileLimit)

    var compared: Bench?
    if let url = common.compare {
        let otherTarget = try Target(url: url)
        let otherKeepAlive = common.httpClient == .keepalive ? KeepAliveHTTP(group: group, target: otherTarget) : nil
        let otherAPI = API(client: http, target: otherTarget, counters: api.counters, keepAlive: otherKeepAlive)
        compared = Bench(
            group: group, api: otherAPI, target: otherTarget, runId: randomRunId(), quick: common.quick,
            serverPid: common.compareServerPid.map { Int32($0) }, databasePid: common.compareDatabasePid.map { Int32($0) },
            pgbench: nil, pgbenchSkipReason: "only run for --url", graceSeconds: bench.graceSeconds, fileLimit: fileLimit)
    }

    var run = RunReport(url: target.base, runId: runId, quick: common.quick, startedAt: Date())
    run.environment["client_event_loops"] = "\(max(1, common.eventLoops))"
    run.environment["cpus"] = "\(ProcessInfo.processInfo.activeProcessorCount)"
    run.environment["fd_limit"] = "\(fileLimit.before) -> \(fileLimit.after) (raised to the hard limit)"
    run.environment["loadavg_start"] = loadAverage()
    if let pid = common.serverPid { run.environment["server_pid"] = "\(pid)" }
    if let pid = common.databasePid { run.environment["database_pid"] = "\(pid)" }
    log("run \(runId) against \(target.base); RLIMIT_NOFILE \(fileLimit.before) -> \(fileLimit.after)")

    do {
        try await api.waitReady(seconds: common.waitReady)
        for scenario in scenarios {
            var report: ScenarioReport
            do {
                report = try await scenario.run(bench)
            } catch {
                report = ScenarioReport(name: scenario.name)
                report.errors.append("scenario failed: \(error)")
            }
            report.printTable()
            fflush(nil)  // all C streams: keeps tables in order with the stderr progress lines
            run.scenarios.append(report)
            if let compared {
                log("\(scenario.name): the same against \(compared.target.base)")
                var theirs: ScenarioReport
                do {
                    try await compared.api.waitReady(seconds: common.waitReady)
                    theirs = try await scenario.run(compared)
                } catch {
                    theirs = ScenarioReport(name: scenario.name)
                    theirs.errors.append("\(error)")
                }
                if !theirs.ok { theirs = theirs.asSkippedOnCompared() }
                printSideBySide(report, theirs, oursURL: target.base, theirsURL: compared.target.base)
                fflush(nil)
                run.compared.append(theirs)
            }
        }
    } catch {
        var report = ScenarioReport(name: "setup")
        report.errors.append("\(error)")
        report.printTable()
        run.scenarios.append(report)
    }
    let limited = api.counters.rateLimited.current
    if limited > 0 {
        run.environment["setup_429_retries"] = "\(limited)"
        log("setup requests were rate limited \(limited) times (retried after Retry-After)")
    }

    run.environment["loadavg_end"] = loadAverage()
    run.printSummary()
    print("  load average: \(run.environment["loadavg_start"] ?? "?") at start, \(run.environment["loadavg_end"] ?? "?") at end")
    let data = try run.jsonData()
    if let path = common.json {
        try data.write(to: URL(fileURLWithPath: path))
        print("JSON written to \(path)")
    } else {
        print("")
        print("--- JSON ---")
        print(String(decoding: data, as: UTF8.self))
    }
    bench.api.keepAlive?.shutdown()
    compared?.api.keepAlive?.shutdown()
    try? await http.shutdown()
    try? await group.shutdownGracefully()
    if !run.ok {
        log("FAILED: " + run.scenarios.filter { !$0.ok }.map(\.name).joined(separator: ", "))
        throw ExitCode(1)
    }
}

struct PresenceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "presence",
        abstract: "Presence and typing fan-out in a group whose members all hold a stream: time to the last member, events/s, CPU.")
    @OptionGroup var common: CommonOptions
    @OptionGroup var options: PresenceOptions
    func run() async throws {
        let sizes = options.sizes(quick: common.quick)
        try await runBench(common, [("presence", { try await runPresence($0, sizes) })])
    }
}
