import HummingbirdBcrypt
import NIOPosix

/// bcrypt hashing on a thread pool: a hash takes hundreds of milliseconds of CPU and must never run on an event loop.
public struct PasswordHasher: Sendable {
    let cost: UInt8
    let threadPool: NIOThreadPool

    public init(cost: Int, threadPool: NIOThreadPool = .singleton) {
        self.cost = UInt8(clamping: cost)
        self.threadPool = threadPool
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await self.threadPool.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await self.threadPool.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}
