import NIOCore

/// Where an HTTP connection's task runs its jobs: on the connection's event loop while the server handles at most one
/// request at a time, on the cooperative pool (the default) otherwise. Each HTTP connection's task prefers it (see
/// ``UpgradeSafeHTTPChannel``), and so do its child tasks.
///
/// Why: one request at a time, a request costs two thread hand-offs that are the framework's — the event loop reads
/// it and resumes the connection's task on the pool; the task writes the response back through the loop — and each
/// wakes a thread on another CPU (5–45 µs of wake-up each on this virtual machine, and a context switch: see README
/// "Where a sequential send's 0.6 ms goes"). Run on its loop, the request is read, handled and answered on one
/// thread. Under load the pool is better: its threads run handlers beside the loops' socket work, where two loops
/// running every handler would make requests (and the realtime core's frames) queue behind each other (stop 36 tried
/// the loop always: 32 senders lost 9–16%). The choice is made for each job, so a connection follows the load.
///
/// Nothing a handler does blocks (libpq is driven without blocking; bcrypt and file reads go to thread pools), so it
/// may run on an event loop.
final class ConnectionTaskExecutor: TaskExecutor, Sendable {
    let eventLoop: any EventLoop
    let load: RequestLoad

    init(_ eventLoop: any EventLoop, load: RequestLoad) {
        self.eventLoop = eventLoop
        self.load = load
    }

    func enqueue(_ job: consuming ExecutorJob) {
        // More than the request this job may belong to: leave it to the pool.
        if self.load.requestsInFlight > 1 {
            globalConcurrentExecutor.enqueue(job)
            return
        }
        let job = UnownedJob(job)
        self.eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
