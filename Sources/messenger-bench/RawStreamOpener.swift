import CBenchSockets
import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Opens and holds many SSE streams from one thread of its own, with non-blocking sockets and epoll: the
/// `connections` and `broadcast` scenarios' client.
///
/// Why not NIO here: what the scenario measures is the server, and on one machine every microsecond the client spends
/// on a connection is taken from the server's cores. Through NIO (a channel, a pipeline, promises, a timeout timer and
/// a task per connection) opening a stream cost this client 120 µs of CPU, more than a third of all the CPU an
/// opening took (server 166 µs, database 30 µs). Here a stream is a socket, a few bytes of state and four system
/// calls (socket and connect, send, read).
///
/// A stream is established when its response starts `HTTP/1.x 200`; it is then held, and what arrives is read and
/// counted, until ``close()``. A stream the server ends meanwhile is counted in ``Counts/endedByServer``. Given an
/// `onEvent`, each stream's body is also parsed (``RawResponseBody``, ``SSEParser``) and its events handed over on
/// this thread, stamped with the time of the read that brought them: the `broadcast` scenario's client, whose
/// reading of 1,000 streams shares the cores with the server's writing to them.
final class RawStreamOpener: Sendable {
    struct Counts: Sendable {
        var established = 0
        var failed = 0
        var firstFailure: String?
        var endedByServer = 0
        var bytes = 0
    }

    private let address: SocketAddress
    private let requests: [[UInt8]]
    private let width: Int
    private let timeoutNanoseconds: UInt64
    /// Published by the thread after each batch of events.
    private let published = Locked(Counts())
    private let wakeFD: Int32
    /// Whether the thread has started and ended, and who waits for it to end.
    private let lifecycle = Locked<(started: Bool, ended: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, false, nil))
    private let onEvent: (@Sendable (Int, SSEEvent) -> Void)?

    /// - Parameters:
    ///   - address: The server.
    ///   - requests: One stream per request: its whole HTTP request.
    ///   - width: Streams being opened at once (connected, not yet answered).
    ///   - onEvent: Called on the opener's thread with a stream's index and each event it brings; nil: the bytes are
    ///     only counted.
    init(
        address: SocketAddress, requests: [[UInt8]], width: Int, timeout: Duration = .seconds(30),
        onEvent: (@Sendable (Int, SSEEvent) -> Void)? = nil
    ) {
        self.address = address
        self.onEvent = onEvent
        self.requests = requests
        self.width = max(1, width)
        self.timeoutNanoseconds = UInt64(timeout.components.seconds) * 1_000_000_000
        self.wakeFD = bench_eventfd()
        precondition(self.wakeFD >= 0, "cannot create the stream opener's eventfd")
    }

    /// The streams' HTTP requests: `GET /api/messages` with each token.
    static func requests(target: Target, tokens: [String]) -> [[UInt8]] {
        tokens.map { token in
            Array(
                ("GET \(target.pathPrefix)/api/messages?token=\(token) HTTP/1.1\r\nHost: \(target.host):\(target.port)\r\n"
                    + "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n").utf8)
        }
    }

    /// The counts as of the thread's last batch of events.
    var counts: Counts { self.published.current }

    /// Starts the thread and opens every stream; returns once each one is established or has failed.
    func open() async -> Counts {
        await withCheckedContinuation { continuation in
            self.lifecycle.withLock { $0.started = true }
            let thread = Thread { self.run(opened: continuation) }
            thread.name = "bench-streams"
            thread.start()
        }
    }

    /// Closes every stream and ends the thread; returns once the sockets are closed.
    func close() async {
        await withCheckedContinuation { continuation in
            let (started, ended) = self.lifecycle.withLock { state in
                if state.started && !state.ended { state.waiter = continuation }
                return (state.started, state.ended)
            }
            // Never opened: only the eventfd to let go of (the thread closes it when it ends).
            if !started { Glibc.close(self.wakeFD) }
            if !started || ended { return continuation.resume() }
            var one: UInt64 = 1
            _ = withUnsafeBytes(of: &one) { write(self.wakeFD, $0.baseAddress, 8) }
        }
    }

    private enum Phase: UInt8 {
        case idle, connecting, awaitingHead, established, done
    }

    // The thread's loop. Everything in it is the thread's own; `published` is how the scenario sees the counts.
    private func run(opened: CheckedContinuation<Counts, Never>) {
        let epoll = bench_epoll_create()
        precondition(epoll >= 0, "cannot create the stream opener's epoll")
        let wakeTag = UInt64.max
        _ = bench_epoll_watch(epoll, self.wakeFD, wakeTag, 0, 1)
        let count = self.requests.count
        var fds = [Int32](repeating: -1, count: count)
        var phases = [Phase](repeating: .idle, count: count)
        var startedAt = [UInt64](repeating: 0, count: count)
        // The first 12 bytes of each response ("HTTP/1.1 200"), which may come in more than one read.
        var heads = [UInt8](repeating: 0, count: count * 12)
        var headLengths = [UInt8](repeating: 0, count: count)
        let onEvent = self.onEvent
        var bodies = [RawResponseBody](repeating: RawResponseBody(), count: onEvent == nil ? 0 : count)
        var parsers = [SSEParser](repeating: SSEParser(), count: onEvent == nil ? 0 : count)
        var next = 0
        var inFlight = 0
        var decided = 0
        var counts = Counts()
        var openedContinuation: CheckedContinuation<Counts, Never>? = opened
        var tags = [UInt64](repeating: 0, count: 256)
        var writable = [Int32](repeating: 0, count: 256)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        var lastTimeoutScan = nowNs()
        var stopping = false

        func fail(_ index: Int, _ why: @autoclosure () -> String) {
            if fds[index] >= 0 { Glibc.close(fds[index]) }
            fds[index] = -1
            phases[index] = .done
            counts.failed += 1
            if counts.firstFailure == nil { counts.firstFailure = why() }
            inFlight -= 1
            decided += 1
        }

        func startMore() {
            while inFlight < self.width && next < count {
                let index = next
                next += 1
                let fd = self.address.withSockAddr { bench_connect($0, socklen_t($1)) }
                inFlight += 1
                guard fd >= 0 else {
                    fail(index, "connect: \(String(cString: strerror(errno)))")
                    continue
                }
                fds[index] = fd
                phases[index] = .connecting
                startedAt[index] = nowNs()
                if bench_epoll_watch(epoll, fd, UInt64(index), 1, 1) != 0 {
                    fail(index, "epoll: \(String(cString: strerror(errno)))")
                }
            }
        }

        func readable(_ index: Int) {
            let fd = fds[index]
            let got = read(fd, scratch.baseAddress, scratch.count)
            if got > 0 {
                counts.bytes += got
                if let onEvent {
                    let at = nowNs()
                    bodies[index].consume(UnsafeRawBufferPointer(rebasing: scratch[0..<got])) { piece in
                        parsers[index].consume(piece, at: at) { dispatch in
                            if let event = dispatch.event { onEvent(index, event) }
                        }
                    }
                }
                guard phases[index] == .awaitingHead else { return }
                let have = Int(headLengths[index])
                let take = min(12 - have, got)
                for offset in 0..<take { heads[index * 12 + have + offset] = scratch[offset] }
                headLengths[index] = UInt8(have + take)
                guard have + take == 12 else { return }
                let status = heads[index * 12 + 9..<index * 12 + 12]
                if status.elementsEqual("200".utf8) {
                    phases[index] = .established
                    counts.established += 1
                    inFlight -= 1
                    decided += 1
                    startMore()
                } else {
                    fail(index, "the stream answered HTTP \(String(decoding: status, as: UTF8.self))")
                }
                return
            }
            if got < 0 && (errno == EAGAIN || errno == EINTR) { return }
            if phases[index] == .awaitingHead {
                fail(index, "the connection closed before the response head")
            } else {
                Glibc.close(fd)
                fds[index] = -1
                phases[index] = .done
                counts.endedByServer += 1
            }
        }

        startMore()
        while !stopping {
            if openedContinuation != nil && decided == count {
                self.published.withLock { $0 = counts }
                openedContinuation?.resume(returning: counts)
                openedContinuation = nil
            }
            let ready = bench_epoll_wait(epoll, &tags, &writable, 256, openedContinuation == nil ? 1000 : 100)
            if ready < 0 && errno != EINTR { break }
            for event in 0..<max(0, Int(ready)) {
                if tags[event] == wakeTag {
                    stopping = true
                    continue
                }
                let index = Int(tags[event])
                guard fds[index] >= 0 else { continue }
                switch phases[index] {
                case .connecting:
                    let error = bench_socket_error(fds[index])
                    guard error == 0 else {
                        fail(index, "connect: \(String(cString: strerror(error)))")
                        continue
                    }
                    guard writable[event] != 0 else { continue }
                    let request = self.requests[index]
                    let sent = request.withUnsafeBytes { send(fds[index], $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    // A request of a few hundred bytes on a new connection fits its empty send buffer whole.
                    guard sent == request.count else {
                        fail(index, "send: \(sent < 0 ? String(cString: strerror(errno)) : "\(sent) of \(request.count) bytes")")
                        continue
                    }
                    phases[index] = .awaitingHead
                    _ = bench_epoll_watch(epoll, fds[index], UInt64(index), 0, 0)
                case .awaitingHead, .established:
                    readable(index)
                case .idle, .done:
                    break
                }
            }
            self.published.withLock { $0 = counts }
            // A stream that got no answer in time fails (looked at ten times a second while streams are opening).
            if openedContinuation != nil, nowNs() - lastTimeoutScan > 100_000_000 {
                lastTimeoutScan = nowNs()
                for index in 0..<next where phases[index] == .connecting || phases[index] == .awaitingHead {
                    if lastTimeoutScan - startedAt[index] > self.timeoutNanoseconds { fail(index, "\(SSEError.timeout)") }
                }
                startMore()
            }
        }
        for fd in fds where fd >= 0 { Glibc.close(fd) }
        Glibc.close(epoll)
        Glibc.close(self.wakeFD)
        scratch.deallocate()
        self.published.withLock { $0 = counts }
        openedContinuation?.resume(returning: counts)
        let waiter = self.lifecycle.withLock { state in
            state.ended = true
            return state.waiter
        }
        waiter?.resume()
    }
}
