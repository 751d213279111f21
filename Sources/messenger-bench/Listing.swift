import ArgumentParser
import Foundation

// MARK: - 7. Reading and sending on a large data set

struct ListingOptions: ParsableArguments {
    @Option(help: "Existing user to act as (dev login), e.g. `seed1` from scripts/seed-large.sql.")
    var username: String = "seed1"

    @Option(help: "Requests per measured call (default 500, quick 50).")
    var requests: Int?
}

/// `listing`: on a database seeded by scripts/seed-large.sql (10,000 users, one user in 1,000 conversations,
/// 1,000,000 messages), the latency of listing conversations (first and second page), listing a page of messages
/// and sending a message, each measured sequentially.
struct ListingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listing",
        abstract: "p50/p99 of listing conversations and messages and of sending, as an existing (seeded) user.")
    @OptionGroup var common: CommonOptions
    @OptionGroup var options: ListingOptions

    func run() async throws {
        let requests = options.requests ?? (common.quick ? 50 : 500)
        let username = options.username
        try await runBench(common, [("listing", { try await runListing($0, username: username, requests: requests) })])
    }
}

private struct ConversationPageDTO: Decodable {
    let id: FlexID
    let cursor: String?
}

func runListing(_ b: Bench, username: String, requests: Int) async throws -> ScenarioReport {
    var r = ScenarioReport(name: "listing")
    r.param("user", username)
    r.param("requests", requests)
    let user = try await b.api.login(username)
    let first = try await b.api.setupCall(.GET, "/api/conversations", token: user.token, expect: [200]).decode([ConversationPageDTO].self)
    guard let conversation = first.first?.id.value, let cursor = first.last?.cursor else {
        throw BenchError("\(username) has no conversations: seed the database with scripts/seed-large.sql")
    }
    let calls: [(String, String, Bool)] = [
        ("conversations page 1", "/api/conversations", false),
        ("conversations page 2", "/api/conversations?before=\(cursor)", false),
        ("messages page", "/api/conversations/\(conversation)/messages", false),
        ("send", "/api/conversations/\(conversation)/messages", true),
    ]
    let cpu0 = CPUSample.now()
    let server0 = b.serverCPUSeconds()
    for (name, path, isSend) in calls {
        var latencies: [UInt64] = []
        for i in 0..<(requests + 10) {
            let t0 = nowNs()
            let result =
                isSend
                ? try await b.api.call(.POST, path, token: user.token, json: #"{"content":"listing bench \#(i)"}"#)
                : try await b.api.call(.GET, path, token: user.token)
            let t1 = nowNs()
            guard result.status == 200 || result.status == 201 else {
                r.errors.append("\(name): status \(result.status)")
                break
            }
            // The first ten warm caches and connections.
            if i >= 10 { latencies.append(t1 - t0) }
        }
        r.latency(name, LatencySummary(nanoseconds: latencies))
    }
    r.cpu(from: cpu0, to: CPUSample.now(), server: (server0, b.serverCPUSeconds()))
    return r
}
