import ArgumentParser
import Foundation

// MARK: - 9. Search on a large data set

struct SearchOptions: ParsableArguments {
    @OptionGroup var user: SeededUserOptions

    @Option(help: "Requests per measured query (default 300, quick 30).")
    var searchRequests: Int?
}

/// `search`: on a database seeded by scripts/seed-large.sql and scripts/seed-search.sql (10,000 users, one user in
/// 1,000 conversations, 1,000,000 messages: "seeded" in every message, "lunch" in 1 in 100, "zanzibar" in 1 in
/// 100,000), the latency of `GET /api/search` for a rare, a medium and a common word, one- and two-letter prefixes,
/// two words, the second page of a common word, and opening a hit (`?around=`), each measured sequentially.
struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "p50/p99 of search (rare, medium, common words, prefixes, paging) and of opening a hit, on the seeded set.")
    @OptionGroup var common: CommonOptions
    @OptionGroup var options: SearchOptions

    func run() async throws {
        let requests = options.searchRequests ?? (common.quick ? 30 : 300)
        let username = options.user.username
        try await runBench(common, [("search", { try await runSearch($0, username: username, requests: requests) })])
    }
}

private struct SearchPageDTO: Decodable {
    struct Hit: Decodable {
        struct Message: Decodable {
            let id: FlexID
            let conversationId: FlexID
        }
        let message: Message
    }
    let messages: [Hit]
    let nextCursor: String?
}

func runSearch(_ b: Bench, username: String, requests: Int) async throws -> ScenarioReport {
    var r = ScenarioReport(name: "search")
    r.param("user", username)
    r.param("requests", requests)
    let user = try await b.api.login(username)
    let common = try await b.api.setupCall(.GET, "/api/search?q=seeded", token: user.token, expect: [200]).decode(SearchPageDTO.self)
    guard let cursor = common.nextCursor, let hit = common.messages.first else {
        throw BenchError("no hits for 'seeded': seed the database with scripts/seed-large.sql and scripts/seed-search.sql")
    }
    let rare = try await b.api.setupCall(.GET, "/api/search?q=zanzibar", token: user.token, expect: [200]).decode(SearchPageDTO.self)
    r.param("rare hits", rare.messages.count)
    let calls: [(name: String, path: String)] = [
        ("rare word (zanzibar)", "/api/search?q=zanzibar"),
        ("medium word (lunch, 1%)", "/api/search?q=lunch"),
        ("common word (seeded, all)", "/api/search?q=seeded"),
        ("common word, page 2", "/api/search?q=seeded&cursor=\(cursor)"),
        ("1-letter prefix (m)", "/api/search?q=m"),
        ("1-letter prefix (z)", "/api/search?q=z"),
        ("2-letter prefix (lu)", "/api/search?q=lu"),
        ("two words (seeded lunch)", "/api/search?q=seeded%20lunch"),
        ("no match (qwertyuiop)", "/api/search?q=qwertyuiop"),
        ("open a hit (around)", "/api/conversations/\(hit.message.conversationId.value)/messages?around=\(hit.message.id.value)"),
    ]
    let seeded = calls.map { SeededCall(name: $0.name, path: $0.path) }
    try await b.measureSequentially(seeded, token: user.token, requests: requests, into: &r)
    return r
}
