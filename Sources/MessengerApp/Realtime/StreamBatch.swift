/// What one look at the stream found.
public struct StreamBatch: Sendable {
    /// The complete events after the position asked for, in order.
    public var records: [StreamRecord] = []
    /// The position of the last row read, including rows that could not be decoded: the reader moves past them.
    public var last: StreamPosition?
    /// Rows read, decoded or not (equal to the limit when more may follow at once).
    public var rowCount = 0
    /// Rows skipped because they could not be decoded, described for the log.
    public var skipped: [String] = []
    /// The horizon the rows were read below (the lowest transaction of ours still running, else the next xid).
    public var horizon: UInt64 = 0
    /// Whether rows of ours wait behind the horizon, to be read once their transaction ends.
    public var pending = false
}
