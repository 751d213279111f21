import NIOCore

/// The `presence_snapshot` a new stream starts with, read for whole crowds of streams at once.
///
/// Why batches: every stream that opens wants its contacts' presence, and a reconnect storm opens thousands of
/// streams a second. One statement per stream made those reads most of the database work of connecting, a thread
/// hand-off each, and (for a big group's members all opening together) a queue in front of the pool that a message
/// sent meanwhile waited behind. Here one read runs at a time and serves everybody who asked before it began: one
/// statement for a crowd, one pool connection at most, and a single stream still waits only for its own read.
///
/// Freshness: a request is only answered by a read that began after the request was made. A caller asks once its
/// stream is registered, so any presence change the answer does not show happened after the registration and
/// reaches the stream as a `presence` event.
extension PresenceTracker {
    /// The most requests one read answers; more wait for the next (a statement's result stays a few MB at most).
    static let snapshotBatchLimit = 2_000

    /// Calls `deliver` with the user's snapshot frame (nil when they have no contacts, or the read failed), from the
    /// task that reads. Returns at once, so an event loop may ask. Ask after the stream is registered.
    func request(snapshotFor userID: Int64, deliver: @escaping @Sendable (ByteBuffer?) -> Void) {
        let startReading = self.snapshotRequests.withLock { requests -> Bool in
            requests.waiting.append((userID, deliver))
            guard !requests.reading else { return false }
            requests.reading = true
            return true
        }
        if startReading { Task { await self.readSnapshotsWhileWaiting() } }
    }

    /// The user's snapshot frame, as ``request(snapshotFor:deliver:)``.
    func snapshot(for userID: Int64) async -> ByteBuffer? {
        await withCheckedContinuation { continuation in
            self.request(snapshotFor: userID) { continuation.resume(returning: $0) }
        }
    }

    /// Reads for everybody waiting, then for whoever asked meanwhile, until nobody waits.
    private func readSnapshotsWhileWaiting() async {
        while true {
            let batch = self.snapshotRequests.withLock { requests in
                guard !requests.waiting.isEmpty else {
                    requests.reading = false
                    return ArraySlice<(userID: Int64, deliver: @Sendable (ByteBuffer?) -> Void)>()
                }
                let count = min(requests.waiting.count, Self.snapshotBatchLimit)
                defer { requests.waiting.removeFirst(count) }
                return requests.waiting.prefix(count)
            }
            guard !batch.isEmpty else { return }
            let frames = await self.readSnapshots(for: Set(batch.map(\.userID)))
            for request in batch { request.deliver(frames[request.userID]) }
        }
    }

    private func readSnapshots(for userIDs: Set<Int64>) async -> [Int64: ByteBuffer] {
        let presence: [Int64: [Int64: PresenceState]]
        do {
            presence = try await self.repository.contactsPresence(of: Array(userIDs), deadAfter: self.deadAfter)
        } catch {
            self.logger.warning("could not read presence", metadata: ["error": "\(String(reflecting: error))"])
            return [:]
        }
        var shown: [Int64: PresenceState] = [:]
        var frames: [Int64: ByteBuffer] = [:]
        for (viewer, contacts) in presence {
            shown.merge(contacts) { current, _ in current }
            let users = contacts.sorted { $0.key < $1.key }.map { Self.json(userID: $0.key, $0.value) }
            frames[viewer] = SSEFrame.event(
                id: nil, name: "presence_snapshot", data: "{\"users\":[" + users.joined(separator: ",") + "]}")
        }
        self.noteShown(shown)
        return frames
    }
}
