import Foundation
import MessengerApp
import Testing

@Suite("Session cache")
struct SessionCacheTests {
    @Test("a check that finishes after a logout never brings the session back")
    func revocationWins() {
        let cache = SessionCache(ttl: .seconds(5))
        let id = UUID()
        cache.store(id, valid: true)
        #expect(cache.lookup(id) == true)
        cache.revoke(id)
        // A request that read "valid" from the database just before the logout stores its answer just after it.
        cache.store(id, valid: true)
        #expect(cache.lookup(id) == false)
        #expect(cache.isRevoked(id))
        #expect(!cache.isRevoked(UUID()))
    }
}
