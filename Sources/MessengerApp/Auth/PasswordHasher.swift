import HummingbirdBcrypt
import NIOPosix
import Synchronization

/// bcrypt hashing on a thread pool: a hash takes hundreds of milliseconds of CPU and must never run on an event loop.
public struct PasswordHasher: Sendable {
    let cost: UInt8
    let threadPool: NIOThreadPool
    private let dummy = DummyHash()

    public init(cost: Int, threadPool: NIOThreadPool = .singleton) {
        self.cost = UInt8(clamping: cost)
        self.threadPool = threadPool
    }

    /// A hash of a random password at this cost, made once: verifying against it costs what a real check does.
    public func dummyHash() async throws -> String {
        if let hash = self.dummy.value.withLock({ $0 }) { return hash }
        let hash = try await self.hash(String(UInt64.random(in: .min ... .max)))
        self.dummy.value.withLock { $0 = hash }
        return hash
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await self.threadPool.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await self.threadPool.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}

/// The lazily made dummy hash, shared by copies of the hasher.
private final class DummyHash: Sendable {
    let value = Mutex<String?>(nil)
}
