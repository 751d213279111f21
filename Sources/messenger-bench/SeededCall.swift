import NIOHTTP1

/// One call of a scenario on the seeded data set, measured sequentially: a GET, or a POST whose JSON body is made
/// for each request (so a send is never a retried duplicate).
struct SeededCall {
    var name: String
    var method: HTTPMethod = .GET
    var path: String
    var body: (@Sendable (Int) -> String)?
}
