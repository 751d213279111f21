import Synchronization

/// Records each read a repository wrapper makes and holds the first one until the test opens the gate: what is asked
/// while that read runs is then known to wait for the next (the batch tests of `BatchedReads`' users).
final class FirstReadGate<Keys: Sendable>: Sendable {
    /// The keys of each read, in order.
    let reads = Mutex<[Keys]>([])
    /// Yields each read's number (1 for the first) as it starts.
    let readStarted: AsyncStream<Int>
    private let readStartedContinuation: AsyncStream<Int>.Continuation
    private let gate: AsyncStream<Void>
    private let gateContinuation: AsyncStream<Void>.Continuation

    init() {
        (self.readStarted, self.readStartedContinuation) = AsyncStream.makeStream()
        (self.gate, self.gateContinuation) = AsyncStream.makeStream()
    }

    /// Call at the start of a read: records it, and holds the first until ``open()``.
    func enter(_ keys: Keys) async {
        let number = self.reads.withLock { reads in
            reads.append(keys)
            return reads.count
        }
        self.readStartedContinuation.yield(number)
        if number == 1 {
            for await _ in self.gate { break }
        }
    }

    /// Lets the first read go on.
    func open() { self.gateContinuation.yield() }
}
