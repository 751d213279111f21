import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// A real webhook receiver on a local port (a Hummingbird server in the test process): records every request and
/// answers with the scripted statuses in order, then 200.
final class PushReceiver: Sendable {
    struct Request: Sendable {
        var signature: String?
        var idempotencyKey: String?
        var contentType: String?
        var body: Data
        var answered: Int

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: self.body)) as? [String: Any] ?? [:] }
    }

    private let state: Mutex<(requests: [Request], script: [Int])>
    private let delay: Duration
    /// While held, answers wait for ``release()`` (a test decides when a delivery ends, not a clock).
    private let gate: Mutex<(held: Bool, waiters: [CheckedContinuation<Void, Never>])>
    private let running = Mutex<(group: ServiceGroup, task: Task<Void, any Error>)?>(nil)
    private(set) var port: Int {
        get { self.portBox.withLock { $0 } }
        set { self.portBox.withLock { $0 = newValue } }
    }
    private let portBox = Mutex(0)

    var url: String { "http://127.0.0.1:\(self.port)/hook" }
    var requests: [Request] { self.state.withLock { $0.requests } }
    /// Requests answered with 2xx.
    var accepted: [Request] { self.requests.filter { (200..<300).contains($0.answered) } }

    /// `script`: the statuses of the first answers; `delay`: how long each answer takes; `held`: answers wait for
    /// ``release()``.
    init(script: [Int] = [], delay: Duration = .zero, held: Bool = false) {
        self.state = Mutex(([], script))
        self.delay = delay
        self.gate = Mutex((held, []))
    }

    /// Lets held answers (and all later ones) go.
    func release() {
        let waiters = self.gate.withLock { gate in
            gate.held = false
            defer { gate.waiters = [] }
            return gate.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    private func waitForRelease() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let held = self.gate.withLock { gate in
                if gate.held { gate.waiters.append(continuation) }
                return gate.held
            }
            if !held { continuation.resume() }
        }
    }

    /// Starts listening on `port` (0: a free one).
    func start(port: Int = 0) async throws {
        let router = Router()
        router.post("/hook") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            if self.delay > .zero { try await Task.sleep(for: self.delay) }
            await self.waitForRelease()
            let status = self.state.withLock { (state: inout (requests: [Request], script: [Int])) -> Int in
                let status = state.script.isEmpty ? 200 : state.script.removeFirst()
                state.requests.append(
                    Request(
                        signature: request.headers[HTTPField.Name("Messenger-Signature")!],
                        idempotencyKey: request.headers[HTTPField.Name("Idempotency-Key")!],
                        contentType: request.headers[.contentType],
                        body: Data(buffer: body),
                        answered: status
                    )
                )
                return status
            }
            return Response(status: .init(code: status))
        }
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "push-receiver")
        logger.logLevel = .critical
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            },
            logger: logger
        )
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        // A bind that fails ends the group before it runs: finishing the stream then makes `start` throw, not hang.
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next() else {
            let reason = await task.result
            throw TestFailure("push receiver did not start on port \(port): \(reason)")
        }
        self.port = bound
        self.running.withLock { $0 = (group, task) }
    }

    /// Stops listening (connections to the port are then refused).
    func stop() async {
        guard
            let (group, task) = self.running.withLock({ running in
                defer { running = nil }; return running
            })
        else { return }
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    /// Whether the signature header is `t=<unix>,v1=<hex HMAC-SHA256 of "t.body">` under `secret`, with t within 5 minutes.
    static func verify(_ request: Request, secret: String) -> Bool {
        guard let header = request.signature else { return false }
        var timestamp: String?
        var signature: String?
        for part in header.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { return false }
            if pair[0] == "t" { timestamp = pair[1] }
            if pair[0] == "v1" { signature = pair[1] }
        }
        guard let timestamp, let seconds = Double(timestamp), let signature else { return false }
        guard abs(Date().timeIntervalSince1970 - seconds) < 300 else { return false }
        let mac = HMAC<SHA256>.authenticationCode(
            for: Data((timestamp + ".").utf8) + request.body,
            using: SymmetricKey(data: Data(secret.utf8))
        )
        return mac.map { String(format: "%02x", $0) }.joined() == signature
    }
}
