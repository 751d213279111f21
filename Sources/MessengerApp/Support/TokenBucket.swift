/// A token bucket: `rate` tokens a second, holding at most `burst`. Not thread-safe; one per connection.
struct TokenBucket {
    let rate: Double
    let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant

    init(rate: Int, burst: Int) {
        self.rate = Double(rate)
        self.burst = Double(burst)
        self.tokens = Double(burst)
        self.last = .now
    }

    /// Takes a token; false when there is none left.
    mutating func take() -> Bool {
        let now = ContinuousClock.now
        let elapsed = now - self.last
        self.last = now
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        self.tokens = min(self.burst, self.tokens + seconds * self.rate)
        guard self.tokens >= 1 else { return false }
        self.tokens -= 1
        return true
    }
}
