/// A position in the stream's committed order: the writing transaction's id (xid8) and the event id, plus the
/// time it was current, which bounds how far back a client may resume.
///
/// Travels as the opaque SSE id `"<tx>-<id>-<unix seconds>"`.
public struct StreamPosition: Sendable, Comparable, CustomStringConvertible {
    public var tx: UInt64
    public var id: Int64
    public var time: Int64

    public init(tx: UInt64, id: Int64, time: Int64) {
        self.tx = tx
        self.id = id
        self.time = time
    }

    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, let tx = UInt64(parts[0]), let id = Int64(parts[1]), id >= 0, let time = Int64(parts[2]) else {
            return nil
        }
        self.init(tx: tx, id: id, time: time)
    }

    public var description: String { "\(self.tx)-\(self.id)-\(self.time)" }

    public static func < (lhs: StreamPosition, rhs: StreamPosition) -> Bool {
        (lhs.tx, lhs.id) < (rhs.tx, rhs.id)
    }

    public static func == (lhs: StreamPosition, rhs: StreamPosition) -> Bool {
        lhs.tx == rhs.tx && lhs.id == rhs.id
    }
}
