import NIOCore
import Testing

@testable import MessengerApp

/// The direct stream path takes only heads it is sure of; everything else must come back nil (the full HTTP stack
/// answers those).
@Suite struct StreamRequestHeadTests {
    static func head(_ text: String) -> StreamRequestHead? {
        StreamRequestHead.parse(ByteBuffer(string: text))
    }

    static let plain = "GET /api/messages?token=abc%2Bd HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n"

    @Test func plainRequests() {
        #expect(Self.head(Self.plain) == StreamRequestHead(target: "/api/messages?token=abc%2Bd", token: "abc+d", lastEventID: nil))
        let header =
            "GET /api/messages?lastEventId=q HTTP/1.1\r\nauthorization: Bearer t.k.n\r\nACCEPT:text/event-stream\r\n"
            + "Last-Event-ID:  7-0-1 \r\nContent-Length: 0\r\n\r\n"
        // The header wins over the query, as in the router's path; field names in any case, values trimmed.
        #expect(Self.head(header) == StreamRequestHead(target: "/api/messages?lastEventId=q", token: "t.k.n", lastEventID: "7-0-1"))
        #expect(Self.head("GET /api/messages?lastEventId=q HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n")?.lastEventID == "q")
        // No token at all is still a stream request (the opener declines it, the router answers 401).
        #expect(Self.head("GET /api/messages HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n")?.token == nil)
        // A repeated field it does not read changes nothing it does.
        #expect(Self.head("GET /api/messages HTTP/1.1\r\nX-A: 1\r\nX-A: 2\r\nAccept: text/event-stream\r\n\r\n") != nil)
        // Another scheme: no token from it, and the query is not consulted (as `Authenticator.token(from:)`).
        #expect(Self.head("GET /api/messages?token=q HTTP/1.1\r\nAuthorization: Basic eA==\r\nAccept: text/event-stream\r\n\r\n")?.token == nil)
    }

    @Test(arguments: [
        "POST /api/messages HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n",
        "GET /api/messages HTTP/1.0\r\nAccept: text/event-stream\r\n\r\n",
        "GET /api/messagesX HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n",
        "GET /api/messages/1 HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n",
        "GET /api/messages HTTP/1.1\r\nAccept: application/json\r\n\r\n",
        "GET /api/messages HTTP/1.1\r\n\r\n",
        "GET /api/messages HTTP/1.1\r\nAccept: text/event-stream\r\nAccept: text/event-stream\r\n\r\n",
        "GET /api/messages HTTP/1.1\r\nAccept: text/event-stream\r\nAuthorization: Bearer a\r\nauthorization: Bearer b\r\n\r\n",
        "GET /api/messages HTTP/1.1\r\nAccept: text/event-stream\r\nLast-Event-ID: 1\r\nLast-Event-Id: 2\r\n\r\n",
        "GET /api/messages HTTP/1.1\r\nAccept: text/event-stream\r\nExpect: 100-continue\r\n\r\n",
        "GET /api/messages HTTP/1.1\r\nAccept: text/event-stream\r\n: no name\r\n\r\n",
        "GET /api/messages HTTP/1.1\r\nAccept: text/event-stream\r\nno colon\r\n\r\n",
        "GET /api/messages HTTP/1.1\nAccept: text/event-stream\r\n\r\n",
        "GET /api/messages HTTP/1.1\r\nX-A: a\nAccept: text/event-stream\r\nAccept: text/event-stream\r\n\r\n",
        "GET /api/messages HTTP/1.1\r\nX-A: a\rb\r\nAccept: text/event-stream\r\n\r\n",
        "GET /api/messages HTTP/1.1x\r\nAccept: text/event-stream\r\n\r\n",
        "GET /api/messages?a b HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n",
        "GET /api/messages HTTP/1.1\r\nAccept: text/event-stream\r\n folded\r\n\r\n",
        "GET /api/messages HTTP/1.1\r\nAccept: text/event-stream\r\nContent-Length: 5\r\n\r\nhello",
        "GET /api/messages HTTP/1.1\r\nAccept: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET /api/messages HTTP/1.1\r\nAccept: text/event-stream\r\nUpgrade: websocket\r\n\r\n",
        "GET /api/messages HTTP/1.1\r\nAccept: text/event-stream\r\nX-Nul: a\u{0}b\r\n\r\n",
        "GET /api/messages HTTP/1.1\r\nAccept: text/event-stream\r\nBad Name: x\r\n\r\n",
        "GET  /api/messages HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n",
        // A second request pipelined behind it.
        "GET /api/messages HTTP/1.1\r\nAccept: text/event-stream\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        // Incomplete.
        "GET /api/messages HTTP/1.1\r\nAccept: text/event-stream\r\n",
    ])
    func leftToTheHTTPStack(_ text: String) {
        #expect(Self.head(text) == nil)
    }

    @Test func earlyDecision() {
        #expect(StreamRequestHead.mayBeStream(ByteBuffer(string: "GE").readableBytesView))
        #expect(StreamRequestHead.mayBeStream(ByteBuffer(string: "GET /api/messages?to").readableBytesView))
        #expect(!StreamRequestHead.mayBeStream(ByteBuffer(string: "POST /api/messages").readableBytesView))
        #expect(!StreamRequestHead.mayBeStream(ByteBuffer(string: "GET /api/conv").readableBytesView))
    }
}
