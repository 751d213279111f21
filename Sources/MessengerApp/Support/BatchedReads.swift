import Synchronization

/// Reads for crowds: one read runs at a time and answers, in one go, every request made before it began; a request
/// made while a read runs waits for the next one.
///
/// Why: some lookups are cheap alone and ruinous in a crowd, and a crowd is exactly what a reconnect storm or a big
/// group coming online makes (thousands of streams asking within a second, each user's tabs asking the same thing).
/// Batched, a crowd costs a few statements and at most one pool connection, and nothing sent meanwhile queues behind
/// it; a lone request still waits for exactly one read.
///
/// Freshness: a request is only answered by a read that began after it was made, so the answer is as new as one of
/// its own would be.
///
/// The read is given the owner it runs for (``request(_:on:deliver:)``), so an owner can make its reader in its own
/// initializer.
final class BatchedReads<Owner: AnyObject & Sendable, Key: Hashable & Sendable, Answer: Sendable>: Sendable {
    /// Answers for the keys it has an answer for; throwing fails every request of the batch.
    typealias Read = @Sendable (Owner, Set<Key>) async throws -> [Key: Answer]
    typealias Delivery = @Sendable (Result<Answer?, any Error>) -> Void

    private struct Queue {
        var waiting: [(key: Key, deliver: Delivery)] = []
        var reading = false
    }

    private let queue = Mutex(Queue())
    private let limit: Int
    private let read: Read

    /// - Parameter limit: the most requests one read answers; more wait for the next.
    init(limit: Int, read: @escaping Read) {
        self.limit = max(1, limit)
        self.read = read
    }

    /// Calls `deliver` with the answer for `key` (nil when the read had none) from the task that reads. Returns at
    /// once, so an event loop may ask.
    func request(_ key: Key, on owner: Owner, deliver: @escaping Delivery) {
        let startReading = self.queue.withLock { queue -> Bool in
            queue.waiting.append((key, deliver))
            guard !queue.reading else { return false }
            queue.reading = true
            return true
        }
        if startReading { Task { await self.readWhileWaiting(on: owner) } }
    }

    /// The answer for `key`, as ``request(_:on:deliver:)``.
    func answer(for key: Key, on owner: Owner) async throws -> Answer? {
        try await withCheckedThrowingContinuation { continuation in
            self.request(key, on: owner) { continuation.resume(with: $0) }
        }
    }

    /// Requests waiting for a read that has not begun.
    var waiting: Int { self.queue.withLock { $0.waiting.count } }

    /// Reads for every request waiting, then for whichever were made meanwhile, until none waits.
    private func readWhileWaiting(on owner: Owner) async {
        while true {
            let batch = self.queue.withLock { queue in
                guard !queue.waiting.isEmpty else {
                    queue.reading = false
                    return ArraySlice<(key: Key, deliver: Delivery)>()
                }
                let count = min(queue.waiting.count, self.limit)
                defer { queue.waiting.removeFirst(count) }
                return queue.waiting.prefix(count)
            }
            guard !batch.isEmpty else { return }
            let answers: Result<[Key: Answer], any Error>
            do {
                answers = .success(try await self.read(owner, Set(batch.map(\.key))))
            } catch {
                answers = .failure(error)
            }
            for request in batch { request.deliver(answers.map { $0[request.key] }) }
        }
    }
}
