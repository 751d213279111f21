import Hummingbird

// What any Hummingbird server pays per request on this machine: a router, no middleware, one POST route that reads
// nothing and answers a fixed JSON body (a send's HTTP side without auth, JSON, database or logging).
let router = Router()
router.post("/api/conversations/{id}/messages") { _, _ -> Response in
    Response(
        status: .created,
        headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(string: #"{"id":"1","content":"floor"}"#))
    )
}
let port = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 3604
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
