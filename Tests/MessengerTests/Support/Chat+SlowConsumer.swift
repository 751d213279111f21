import Testing

extension Chat {
    /// The slow-consumer check both transports share: alice floods bob with 4 concurrent writers × 500 messages of
    /// 470 four-byte characters (about 4 MB behind a reader that never reads, far beyond any stream buffer), then
    /// `healthyReceived` waits until bob's healthy connection has the last message (given its id), and the server
    /// must have closed `stuck`, bob's connection that never reads: once it reads, its data ends in EOF.
    func expectSlowConsumerCutOff(
        stuck: StuckReader,
        healthyReceived: (_ lastID: String) async throws -> Void,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let (api, alice, conversation) = (self.api, self.alice, self.conversation)
        let big = String(repeating: "😀", count: 470)
        let ids = try await withThrowingTaskGroup(of: [String].self) { group in
            for writer in 0..<4 {
                group.addTask {
                    var ids: [String] = []
                    for n in 0..<500 { ids.append(try await api.sendMessage(alice, conversation, "\(writer) \(n) \(big)")["id"] as! String) }
                    return ids
                }
            }
            return try await group.reduce(into: [String]()) { $0 += $1 }
        }
        let lastID = ids.max { Int64($0)! < Int64($1)! }!
        try await healthyReceived(lastID)
        #expect(try await stuck.drainReachesEOF(timeout: .seconds(15)), sourceLocation: sourceLocation)
        stuck.close()
    }
}
