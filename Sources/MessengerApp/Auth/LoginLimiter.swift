/// Limits password guessing without handing anyone a way to lock a real user out.
///
/// Three fixed one-minute windows, checked in this order:
/// 1. per username **and** client address (`limit`): one client guessing one account;
/// 2. per client address (`3 × limit`): one client spraying many accounts;
/// 3. per username from all addresses together (`10 × limit`): a ceiling on distributed guessing.
///
/// An attempt refused by 1 or 2 is not counted in 3, so a single client — however hard it hammers — can only use
/// up its own windows: the user, from any other address, still signs in. Only guesses from at least ten addresses
/// within one minute reach the ceiling, and even that lockout ends one minute after the guessing stops.
public final class LoginLimiter: Sendable {
    let byUserAndAddress: RateLimiter
    let byAddress: RateLimiter
    let byUser: RateLimiter

    /// - Parameter limit: attempts per username and address each minute.
    public init(limit: Int) {
        self.byUserAndAddress = RateLimiter(limit: limit)
        self.byAddress = RateLimiter(limit: limit * 3)
        self.byUser = RateLimiter(limit: limit * 10)
    }

    /// Counts an attempt; returns the seconds to wait when refused, nil when it may go ahead.
    public func attempt(username: String, address: String) -> Int? {
        let name = username.lowercased()
        let pair = self.byUserAndAddress.hit(name + "\u{1}" + address)
        let client = self.byAddress.hit(address)
        if let wait = [pair, client].compactMap({ $0 }).max() { return wait }
        return self.byUser.hit(name)
    }
}
