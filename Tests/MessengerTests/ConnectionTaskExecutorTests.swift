import NIOCore
import NIOPosix
import Testing

@testable import MessengerApp

/// A connection's handler task prefers its channel's event loop while the server handles one request at a time:
/// whatever resumes it, and from whichever thread, it runs on that loop, and so do its child tasks. With more requests
/// in flight its jobs go to the cooperative pool.
@Suite("Connection tasks on their event loop")
struct ConnectionTaskExecutorTests {
    @Test("one request at a time: resumed from other threads, the task and its children run on the loop")
    func quietRunsOnTheLoop() async throws {
        let loops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator())
        let (loop, other) = (loops[0], loops[loops.count - 1])
        let load = RequestLoad()
        try await withTaskExecutorPreference(ConnectionTaskExecutor(loop, load: load)) {
            try await load.counting {
                // Resumed by a timer of the global executor's clock…
                try await Task.sleep(for: .milliseconds(5))
                #expect(loop.inEventLoop)
                // …by a continuation resumed on another loop's thread (as the socket poller resumes a statement)…
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    other.execute { continuation.resume() }
                }
                #expect(loop.inEventLoop)
                // …and in a child task.
                let inChild = await withTaskGroup(of: Bool.self) { children in
                    children.addTask { loop.inEventLoop }
                    return await children.next() ?? false
                }
                #expect(inChild)
            }
        }
        #expect(!loop.inEventLoop)
    }

    @Test("with another request in flight, the task's jobs run on the pool, and back on the loop once it ends")
    func busyRunsOnThePool() async throws {
        let loops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator())
        let (loop, other) = (loops[0], loops[loops.count - 1])
        let load = RequestLoad()
        let (otherStarted, started) = AsyncStream.makeStream(of: Void.self)
        let (finishOther, finish) = AsyncStream.makeStream(of: Void.self)
        // Another request, held open until told to finish.
        let another = Task {
            await load.counting {
                started.yield()
                for await _ in finishOther { break }
            }
        }
        for await _ in otherStarted { break }
        try await withTaskExecutorPreference(ConnectionTaskExecutor(loop, load: load)) {
            try await load.counting {
                #expect(load.requestsInFlight == 2)
                try await Task.sleep(for: .milliseconds(5))
                #expect(!loop.inEventLoop)
                #expect(MultiThreadedEventLoopGroup.currentEventLoop == nil)
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    other.execute { continuation.resume() }
                }
                #expect(MultiThreadedEventLoopGroup.currentEventLoop == nil)
                finish.yield()
                await another.value
                #expect(load.requestsInFlight == 1)
                // Alone again: the next resumption is on the loop.
                try await Task.sleep(for: .milliseconds(5))
                #expect(loop.inEventLoop)
            }
        }
    }
}
