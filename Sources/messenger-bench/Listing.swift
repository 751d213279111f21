import ArgumentParser
import Foundation

// MARK: - 7. Reading and sending on a large data set

struct ListingOptions: ParsableArguments {
    @OptionGroup var user: SeededUserOptions

    @Option(help: "Requests per measured call (default 500, quick 50).")
    var requests: Int?
}

/// `listing`: on a database seeded by scripts/seed-large.sql (10,000 users, one user in 1,000 conversations,
/// 1,000,000 messages), the latency of listing conversations (first and second page), listing a page of messages
/// and sending a message, each measured sequentially, and between them the floor: `GET /healthz`, a request that
/// does no work, whose p99 says how much of a call's p99 this machine adds to any request at that moment.
struct ListingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listing",
        abstract: "p50/p99 of listing conversations and messages and of sending, as an existing (seeded) user.")
    @OptionGroup var common: CommonOptions
    @OptionGroup var options: ListingOptions

    func run() async throws {
        let requests = options.requests ?? (common.quick ? 50 : 500)
        let username = options.user.username
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
    let messages = "/api/conversations/\(conversation)/messages"
    let calls = [
        SeededCall(name: "conversations page 1", path: "/api/conversations"),
        SeededCall(name: "conversations page 2", path: "/api/conversations?before=\(cursor)"),
        SeededCall(name: "messages page", path: messages),
        SeededCall(name: "send", method: .POST, path: messages, body: { #"{"content":"listing bench \#($0)"}"# }),
    ]
    // A request that does nothing, between the measured ones: the page's p99 next to this machine's own (README).
    let floor = SeededCall(name: "GET /healthz", path: "/healthz")
    try await b.measureSequentially(calls, token: user.token, requests: requests, floor: floor, into: &r)
    return r
}
