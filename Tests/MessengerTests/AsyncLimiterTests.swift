import Synchronization
import Testing

@testable import MessengerApp

@Suite struct AsyncLimiterTests {
    /// Shared state of the tasks in a test.
    final class Shared<Value: Sendable>: Sendable {
        let value: Mutex<Value>
        init(_ value: Value) { self.value = Mutex(value) }
    }

    @Test("never more than the limit at once; every caller runs, in arrival order once they wait")
    func limits() async throws {
        let limiter = AsyncLimiter(limit: 3)
        let counters = Shared((running: 0, most: 0, done: 0))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    try await limiter.run {
                        counters.value.withLock { c in
                            c.running += 1
                            c.most = max(c.most, c.running)
                        }
                        await Task.yield()
                        try await Task.sleep(for: .milliseconds(1))
                        counters.value.withLock { c in
                            c.running -= 1
                            c.done += 1
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let result = counters.value.withLock { $0 }
        #expect(result.most == 3)
        #expect(result.done == 50)
        #expect(result.running == 0)
    }

    @Test("waiters are served in the order they came, and a body's error still frees its slot")
    func order() async throws {
        let limiter = AsyncLimiter(limit: 1)
        let order = Shared<[Int]>([])
        let (gate, open) = AsyncStream.makeStream(of: Void.self)
        // The first holds the only slot until the gate opens.
        let first = Task {
            try await limiter.run {
                for await _ in gate { break }
                order.value.withLock { $0.append(0) }
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        var waiting: [Task<Void, any Error>] = []
        for n in 1...5 {
            waiting.append(
                Task {
                    try await limiter.run {
                        order.value.withLock { $0.append(n) }
                        if n == 3 { throw CancellationError() }
                    }
                })
            // Each is queued before the next starts.
            try await Task.sleep(for: .milliseconds(20))
        }
        open.yield()
        try await first.value
        for task in waiting { _ = try? await task.value }
        #expect(order.value.withLock { $0 } == [0, 1, 2, 3, 4, 5])
    }
}
