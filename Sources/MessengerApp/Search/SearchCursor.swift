/// Where a page of search hits ended: `"<top>.<rank bits>.<id>"`.
///
/// Hits are ranked within windows of the newest matches (see ``PostgresSearchRepository``): `top` is the highest
/// message id of the window (ids above it arrived later and are not part of this walk), `rank` and `id` the last
/// hit returned. The rank travels as the bit pattern of its `Double`, so it compares exactly.
public struct SearchCursor: Sendable, Equatable, CustomStringConvertible {
    public var top: Int64
    public var rank: Double
    public var id: Int64

    public init(top: Int64, rank: Double, id: Int64) {
        self.top = top
        self.rank = rank
        self.id = id
    }

    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let top = ID.parse(String(parts[0])), let id = ID.parse(String(parts[2])),
            parts[1].utf8.count == 16, parts[1].utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }),
            let bits = UInt64(parts[1], radix: 16)
        else { return nil }
        // Any rank a client sends back only moves where its own results continue (NaN and infinities compare in
        // PostgreSQL too), so every cursor of the documented form is accepted.
        self.init(top: top, rank: Double(bitPattern: bits), id: id)
    }

    public var description: String {
        let hex = String(self.rank.bitPattern, radix: 16)
        return "\(self.top).\(String(repeating: "0", count: 16 - hex.count))\(hex).\(self.id)"
    }
}
