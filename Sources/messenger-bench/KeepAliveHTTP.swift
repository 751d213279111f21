import ArgumentParser
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// The measured requests' HTTP client: plain HTTP/1.1 keep-alive connections over NIO's HTTP codec, one request at
/// a time on each.
///
/// Why not AsyncHTTPClient (which the set-up calls keep using): its pool, request state machines and task hand-offs
/// cost the bench ~0.3 ms of CPU and latency per request (2026-11-26: sequential sends p50 1.05 ms with it, 0.71–0.80
/// ms from `wrk` against the same server). The client shares the server's two cores, so that was measured as the
/// server's latency and taken from its CPU. `--http-client ahc` measures with AsyncHTTPClient as before.
final class KeepAliveHTTP: Sendable {
    private let group: any EventLoopGroup
    private let target: Target
    private let idle = NIOLockedValueBox<[KeepAliveConnection]>([])

    init(group: any EventLoopGroup, target: Target) {
        self.group = group
        self.target = target
    }

    /// One request on an idle connection (or a new one); the connection is kept for the next request unless the
    /// request failed or the server said `Connection: close`. A kept connection the server closed meanwhile (an idle
    /// timeout between scenarios) fails without an answer: the request is then made once more on a new one.
    func request(_ method: HTTPMethod, _ path: String, token: String?, json: String?) async throws -> HTTPResult {
        if let reused = self.idle.withLockedValue({ $0.popLast() }) {
            if reused.channel.isActive, let result = try? await self.request(on: reused, method, path, token: token, json: json) {
                return result
            }
            reused.close()
        }
        let connection = try await KeepAliveConnection.connect(group: self.group, target: self.target)
        return try await self.request(on: connection, method, path, token: token, json: json)
    }

    private func request(
        on connection: KeepAliveConnection, _ method: HTTPMethod, _ path: String, token: String?, json: String?
    ) async throws -> HTTPResult {
        do {
            let (head, body) = self.parts(method, path, token: token, json: json)
            let result = try await connection.request(head, body: body)
            if result.headers.first(name: "Connection")?.lowercased() == "close" {
                connection.close()
            } else {
                self.idle.withLockedValue { $0.append(connection) }
            }
            return result
        } catch {
            connection.close()
            throw error
        }
    }

    /// `count` requests one after another on one connection, driven from its event loop: each is written the moment
    /// the previous answer has ended, in the same event-loop turn, as `wrk` and `pgbench` do. Each latency is the time
    /// from writing the request to the end of its answer, both read on the event loop.
    ///
    /// Why: ``request(_:_:token:json:)`` from a task costs two thread hand-offs per request on the client's side (the
    /// task asks the event loop to write; the answer resumes the task on the cooperative pool), ~0.1 ms per request
    /// on this two-core machine, measured as the server's latency and, in a sequential run, as its throughput. A
    /// failed request (an error, not a status) ends the run.
    func sequence(
        count: Int, _ method: HTTPMethod, request: @escaping @Sendable (Int) -> (path: String, token: String?, json: String?)
    ) async throws -> [(latencyNs: UInt64, result: HTTPResult)] {
        let connection = try await self.idleOrNewConnection()
        do {
            let results = try await connection.sequence(count: count) { i in
                let (path, token, json) = request(i)
                return self.parts(method, path, token: token, json: json)
            }
            self.idle.withLockedValue { $0.append(connection) }
            return results
        } catch {
            connection.close()
            throw error
        }
    }

    /// `count` requests on an open-loop schedule, driven from the event loops: request `i` is written at
    /// `startAfterNs` from now plus `i × intervalNs`, by an event-loop timer, on lane `i % lanes` (a keep-alive
    /// connection of its own, taken from the idle ones or opened first). A request due while its lane's previous one
    /// is unanswered is pipelined behind it, as one HTTP/1.1 client would. `sent(i, ns)` runs on the event loop just
    /// before request `i` is written; each outcome's latency is from that write to the end of the answer, both read on
    /// the event loop.
    ///
    /// Why: from a task (``pacedSend``'s path for `--http-client ahc`) each request passed the timer's thread, a
    /// task and the event loop before it was written, its send time taken on the way: the client's own hand-offs,
    /// measured as the server's latency, and client CPU taken from the two cores the server shares.
    func paced(
        count: Int, startAfterNs: UInt64, intervalNs: Double, lanes: Int, _ method: HTTPMethod,
        request: @escaping @Sendable (Int) -> (path: String, token: String?, json: String?),
        sent: @escaping @Sendable (Int, UInt64) -> Void
    ) async throws -> PacedRun {
        var connections: [KeepAliveConnection] = []
        do {
            for _ in 0..<max(1, lanes) { connections.append(try await self.idleOrNewConnection()) }
        } catch {
            for connection in connections { connection.close() }
            throw error
        }
        let run = PacedRunCollector(count: count, promise: self.group.next().makePromise(of: PacedRun.self))
        let start = nowNs() + startAfterNs
        for i in 0..<count {
            let connection = connections[i % connections.count]
            let due = start + UInt64(Double(i) * intervalNs)
            connection.schedule(at: due) { lagNs in
                let (path, token, json) = request(i)
                let (head, body) = self.parts(method, path, token: token, json: json)
                let t0 = nowNs()
                sent(i, t0)
                return (head, body, t0, lagNs)
            } done: { outcome in
                run.record(i, outcome)
            }
        }
        var result = try await run.result
        result.startNs = start
        for connection in connections {
            if connection.channel.isActive {
                self.idle.withLockedValue { $0.append(connection) }
            }
        }
        return result
    }

    /// Closes the idle connections.
    func shutdown() {
        let connections = self.idle.withLockedValue { list in
            defer { list.removeAll() }
            return list
        }
        for connection in connections { connection.close() }
    }

    /// An idle connection that is still open, or a new one.
    private func idleOrNewConnection() async throws -> KeepAliveConnection {
        if let reused = self.idle.withLockedValue({ $0.popLast() }), reused.channel.isActive { return reused }
        return try await KeepAliveConnection.connect(group: self.group, target: self.target)
    }

    /// A request's head and body.
    private func parts(_ method: HTTPMethod, _ path: String, token: String?, json: String?) -> (HTTPRequestHead, ByteBuffer?) {
        (self.requestHead(method, path, token: token, json: json), json.map { ByteBuffer(string: $0) })
    }

    private func requestHead(_ method: HTTPMethod, _ path: String, token: String?, json: String?) -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: "\(self.target.host):\(self.target.port)")
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let json {
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(json.utf8.count))
        } else {
            headers.add(name: "Content-Length", value: "0")
        }
        return HTTPRequestHead(version: .http1_1, method: method, uri: self.target.pathPrefix + path, headers: headers)
    }
}

/// One keep-alive connection: requests are answered in order (HTTP/1.1), each by the next response.
final class KeepAliveConnection: Sendable {
    let channel: any Channel
    private let collector: ResponseCollector

    private init(channel: any Channel, collector: ResponseCollector) {
        self.channel = channel
        self.collector = collector
    }

    static func connect(group: any EventLoopGroup, target: Target) async throws -> KeepAliveConnection {
        let collector = ResponseCollector()
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(collector)
                }
            }
        let channel = try await target.connect(bootstrap).get()
        return KeepAliveConnection(channel: channel, collector: collector)
    }

    /// Writes a request (head, body, end: one flush) and waits for its response, at most 30 s (as AsyncHTTPClient
    /// did for these requests): then the connection is closed, which fails the request.
    func request(_ head: HTTPRequestHead, body: ByteBuffer?) async throws -> HTTPResult {
        let loop = self.channel.eventLoop
        return try await loop.flatSubmit { self.write(head, body: body) }.get()
    }

    /// Writes a request (head, body, end: one flush); the future is its response, or fails after 30 s (the
    /// connection is then closed). On the event loop.
    private func write(_ head: HTTPRequestHead, body: ByteBuffer?) -> EventLoopFuture<HTTPResult> {
        let loop = self.channel.eventLoop
        let channel = self.channel
        let answered = loop.makePromise(of: HTTPResult.self)
        let timeout = loop.scheduleTask(in: .seconds(30)) { channel.close(promise: nil) }
        answered.futureResult.whenComplete { _ in timeout.cancel() }
        self.collector.expect(answered)
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil)).cascadeFailure(to: answered)
        return answered.futureResult
    }

    /// See ``KeepAliveHTTP/sequence(count:_:request:)``. `make` runs on the event loop.
    func sequence(
        count: Int, make: @escaping @Sendable (Int) -> (HTTPRequestHead, ByteBuffer?)
    ) async throws -> [(latencyNs: UInt64, result: HTTPResult)] {
        let loop = self.channel.eventLoop
        let done = loop.makePromise(of: [(latencyNs: UInt64, result: HTTPResult)].self)
        loop.execute {
            let results = NIOLoopBoundBox([(latencyNs: UInt64, result: HTTPResult)](), eventLoop: loop)
            results.value.reserveCapacity(count)
            @Sendable func step(_ i: Int) {
                guard i < count else { return done.succeed(results.value) }
                let (head, body) = make(i)
                let t0 = nowNs()
                // Runs on the event loop, in the turn that read the answer's end: the next request goes out at once.
                self.write(head, body: body).whenComplete { outcome in
                    let t1 = nowNs()
                    switch outcome {
                    case .success(let result):
                        results.value.append((t1 - t0, result))
                        step(i + 1)
                    case .failure(let error):
                        done.fail(error)
                    }
                }
            }
            step(0)
        }
        return try await done.futureResult.get()
    }

    /// Writes the request `make` returns at `due` (an event-loop timer); `done` gets its outcome on the event loop.
    /// `make` gets how late the timer fired and returns the request, its write time and that lateness.
    func schedule(
        at due: UInt64,
        make: @escaping @Sendable (_ lagNs: UInt64) -> (HTTPRequestHead, ByteBuffer?, UInt64, UInt64),
        done: @escaping @Sendable (PacedRun.Outcome) -> Void
    ) {
        self.channel.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(due)) {
            let now = nowNs()
            let (head, body, t0, lag) = make(now > due ? now - due : 0)
            self.write(head, body: body).whenComplete { outcome in
                let t1 = nowNs()
                switch outcome {
                case .success(let result): done(.answered(latencyNs: t1 - t0, lagNs: lag, result: result))
                case .failure(let error): done(.failed(String(describing: error), lagNs: lag))
                }
            }
        }
    }

    func close() {
        self.channel.close(promise: nil)
    }
}

/// Collects each response (head, body) and completes the promise of the request it answers; fails every waiting
/// request when the connection ends. Event-loop only.
private final class ResponseCollector: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    private var waiting = CircularBuffer<EventLoopPromise<HTTPResult>>()
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()

    func expect(_ promise: EventLoopPromise<HTTPResult>) {
        self.waiting.append(promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch self.unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body.clear()
        case .body(var part):
            self.body.writeBuffer(&part)
        case .end:
            guard let head = self.head, let promise = self.waiting.popFirst() else { return }
            self.head = nil
            promise.succeed(HTTPResult(status: Int(head.status.code), body: self.body, headers: head.headers))
            self.body = ByteBuffer()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failAll(BenchError("connection closed before the response"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: any Error) {
        while let promise = self.waiting.popFirst() { promise.fail(error) }
    }
}

/// `--http-client`: which client sends the measured requests.
enum MeasuredHTTPClient: String, ExpressibleByArgument, Sendable {
    case keepalive
    case ahc
}

/// What ``KeepAliveHTTP/paced(count:startAfterNs:intervalNs:lanes:_:request:sent:)`` measured.
struct PacedRun: Sendable {
    enum Outcome: Sendable {
        case answered(latencyNs: UInt64, lagNs: UInt64, result: HTTPResult)
        case failed(String, lagNs: UInt64)
    }

    /// By request index.
    var outcomes: [Outcome?]
    /// How late the latest timer fired.
    var maxLagNs: UInt64 = 0
    /// When request 0 was due.
    var startNs: UInt64 = 0
}

/// Gathers a paced run's outcomes from the event loops; completes when every request has one.
private final class PacedRunCollector: Sendable {
    private let state: NIOLockedValueBox<(run: PacedRun, left: Int)>
    private let promise: EventLoopPromise<PacedRun>

    init(count: Int, promise: EventLoopPromise<PacedRun>) {
        self.state = NIOLockedValueBox((PacedRun(outcomes: Array(repeating: nil, count: count)), count))
        self.promise = promise
        if count == 0 { promise.succeed(PacedRun(outcomes: [])) }
    }

    var result: PacedRun {
        get async throws { try await self.promise.futureResult.get() }
    }

    func record(_ i: Int, _ outcome: PacedRun.Outcome) {
        let finished: PacedRun? = self.state.withLockedValue { state in
            switch outcome {
            case .answered(_, let lag, _), .failed(_, let lag): state.run.maxLagNs = max(state.run.maxLagNs, lag)
            }
            state.run.outcomes[i] = outcome
            state.left -= 1
            return state.left == 0 ? state.run : nil
        }
        if let finished { self.promise.succeed(finished) }
    }
}
