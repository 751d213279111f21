import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// Delivers the push outbox to the webhook: claims due rows (several instances share the work through
/// `FOR UPDATE SKIP LOCKED`), POSTs each as signed JSON, and records the outcome. Timeouts, connection errors, 5xx
/// and 429 are retried with exponential backoff and jitter until ``AppConfiguration/pushRetryFor`` has passed since
/// the push was recorded, then it is dead; any other answer outside 2xx is not retried. At-least-once: a worker that
/// dies mid-delivery leaves a lease that expires, and the push is sent again with the same idempotency key.
public final class PushWorker: Service, Sendable {
    let outbox: any PushOutboxRepository
    let url: String
    let secret: [UInt8]
    let configuration: AppConfiguration
    let logger: Logger
    let metrics: AppMetrics
    let http: HTTPClient

    /// Rows claimed per look.
    static let batchSize = 32
    /// Finished rows are kept this long (for operators), then removed.
    static let keepFinished: Duration = .seconds(7 * 24 * 3600)

    public init(outbox: any PushOutboxRepository, configuration: AppConfiguration, logger: Logger, metrics: AppMetrics = AppMetrics()) {
        self.outbox = outbox
        self.metrics = metrics
        self.url = configuration.pushWebhookURL ?? ""
        self.secret = configuration.pushSecret
        self.configuration = configuration
        self.logger = logger
        let timeout = TimeAmount.nanoseconds(Int64(PostgresPushOutboxRepository.seconds(configuration.pushTimeout) * 1e9))
        self.http = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: .init(
                redirectConfiguration: .disallow,
                timeout: .init(connect: min(timeout, .seconds(5)), read: timeout),
                connectionPool: .init(idleTimeout: .seconds(60))
            )
        )
    }

    /// A claimed push is leased for one attempt's timeout plus a margin.
    var lease: Duration { self.configuration.pushTimeout + .seconds(5) }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await self.loop()
        }
        try? await self.http.shutdown()
    }

    private func loop() async {
        var lastCleanup = ContinuousClock.now - .seconds(3600)
        while !Task.isCancelled {
            do {
                if ContinuousClock.now - lastCleanup >= .seconds(3600) {
                    lastCleanup = ContinuousClock.now
                    try await self.outbox.removeFinished(olderThan: Self.keepFinished)
                }
                let batch = try await self.outbox.claim(limit: Self.batchSize, lease: self.lease)
                if !batch.isEmpty {
                    await withTaskGroup(of: Void.self) { group in
                        for push in batch { group.addTask { await self.deliver(push) } }
                    }
                    continue
                }
                // Sleep until the next push is due, but look again at least every poll interval: other instances
                // (and this one's sends) add rows without telling us.
                let poll = self.configuration.pushPollInterval
                var wait = poll
                if let seconds = try await self.outbox.secondsUntilNextDue() {
                    wait = min(poll, .milliseconds(Int64(seconds * 1000)))
                }
                try await Task.sleep(for: max(wait, .milliseconds(10)))
            } catch is CancellationError {
                return
            } catch {
                self.logger.warning("push outbox look failed", metadata: ["error": "\(String(reflecting: error))"])
                try? await Task.sleep(for: self.configuration.pushPollInterval)
            }
        }
    }

    enum Outcome {
        case delivered
        case retry(String)
        case permanent(String)

        /// The `outcome` label of ``AppMetrics/Names/pushAttempts``.
        var label: String {
            switch self {
            case .delivered: "delivered"
            case .retry: "retry"
            case .permanent: "rejected"
            }
        }
    }

    func deliver(_ push: PushNotification) async {
        let outcome = await self.send(push)
        self.metrics.pushAttempt(outcome: outcome.label)
        do {
            switch outcome {
            case .delivered:
                try await self.outbox.markDelivered(id: push.id)
                self.logger.debug("push delivered", metadata: ["push": "\(push.id)", "attempt": "\(push.attempt)"])
            case .permanent(let reason):
                try await self.outbox.markDead(id: push.id, error: reason)
                self.logger.warning("push rejected, not retried", metadata: ["push": "\(push.id)", "reason": "\(reason)"])
            case .retry(let reason):
                let delay = self.backoff(attempt: push.attempt)
                try await self.outbox.retry(id: push.id, after: delay, giveUpAfter: self.configuration.pushRetryFor, error: reason)
                self.logger.info(
                    "push failed, will retry",
                    metadata: ["push": "\(push.id)", "attempt": "\(push.attempt)", "reason": "\(reason)", "delay": "\(delay)"]
                )
            }
        } catch {
            // The lease expires and the push is taken again: at-least-once.
            self.logger.warning("could not record a push outcome", metadata: ["push": "\(push.id)", "error": "\(String(reflecting: error))"])
        }
    }

    /// `base × 2^(attempt−1)`, capped, times a random factor in [0.5, 1] so that a receiver coming back is not hit
    /// by every waiting push at the same instant.
    func backoff(attempt: Int) -> Duration {
        let base = PostgresPushOutboxRepository.seconds(self.configuration.pushBackoffBase)
        let cap = PostgresPushOutboxRepository.seconds(self.configuration.pushMaxBackoff)
        let exponential = min(cap, base * pow(2, Double(max(0, min(attempt - 1, 40)))))
        return .milliseconds(Int64(exponential * Double.random(in: 0.5...1.0) * 1000))
    }

    private func send(_ push: PushNotification) async -> Outcome {
        let body: [UInt8]
        do {
            body = try PushPayload(push).body()
        } catch {
            return .permanent("payload: \(error)")
        }
        var request = HTTPClientRequest(url: self.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "messenger-push/1")
        request.headers.add(name: "Idempotency-Key", value: push.idempotencyKey)
        let timestamp = Int64(Date().timeIntervalSince1970)
        request.headers.add(name: PushSignature.headerName, value: PushSignature.header(secret: self.secret, timestamp: timestamp, body: body))
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let timeout = TimeAmount.nanoseconds(Int64(PostgresPushOutboxRepository.seconds(self.configuration.pushTimeout) * 1e9))
            let response = try await self.http.execute(request, timeout: timeout)
            // Read (and drop) the answer so the connection can be reused.
            _ = try? await response.body.collect(upTo: 64 * 1024)
            let code = Int(response.status.code)
            switch code {
            case 200..<300: return .delivered
            case 429, 500..<600: return .retry("HTTP \(code)")
            default: return .permanent("HTTP \(code)")
            }
        } catch {
            return .retry("\(error)")
        }
    }
}
