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
            let result = try await connection.request(
                self.requestHead(method, path, token: token, json: json), body: json.map { ByteBuffer(string: $0) })
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
        let connection: KeepAliveConnection
        if let reused = self.idle.withLockedValue({ $0.popLast() }), reused.channel.isActive {
            connection = reused
        } else {
            connection = try await KeepAliveConnection.connect(group: self.group, target: self.target)
        }
        do {
            let results = try await connection.sequence(count: count) { i in
                let (path, token, json) = request(i)
                return (self.requestHead(method, path, token: token, json: json), json.map { ByteBuffer(string: $0) })
            }
            self.idle.withLockedValue { $0.append(connection) }
            return results
        } catch {
            connection.close()
            throw error
        }
    }

    /// Closes the idle connections.
    func shutdown() {
        let connections = self.idle.withLockedValue { list in
            defer { list.removeAll() }
            return list
        }
        for connection in connections { connection.close() }
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
