import Synchronization

/// How many requests the HTTP stack is handling right now (from the router's start to the response it returns; a
/// streamed body's life is not counted). ``ConnectionTaskExecutor`` reads it to decide where a connection's task runs.
final class RequestLoad: Sendable {
    private let inFlight = Atomic<Int>(0)

    init() {}

    /// Requests being handled now.
    var requestsInFlight: Int { self.inFlight.load(ordering: .relaxed) }

    /// Counts `body` as a request in flight while it runs.
    func counting<T>(_ body: () async throws -> T) async rethrows -> T {
        self.inFlight.add(1, ordering: .relaxed)
        defer { self.inFlight.subtract(1, ordering: .relaxed) }
        return try await body()
    }
}
