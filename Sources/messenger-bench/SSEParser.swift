/// Server-Sent Events from a stream's body, in whatever pieces the reads bring it: lines, fields, and an event at each
/// blank line. Used by both of the bench's stream clients (``SSEConnection`` over NIO, ``RawStreamOpener`` over plain
/// sockets).
///
/// It runs for every receipt of every stream, so its cost is part of what a fan-out measurement sees: it looks for
/// line ends a block at a time and touches each byte once. A line that lies whole in one piece is handled where it
/// lies; only a line cut by the end of a piece is copied until its rest arrives.
struct SSEParser {
    /// What a blank line completed.
    struct Dispatch {
        /// The event; nil for a block without data (an `id:` alone still moves the last event id).
        var event: SSEEvent?
        /// The stream's last event id after this block.
        var lastEventID: String?
        /// Whether any `id:` line has been seen on this stream.
        var sawID: Bool
    }

    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var eventType: String?
    private var lastEventID: String?
    private var sawID = false

    /// - Parameter lastEventID: The id the stream resumes from (what a blank block reports until an `id:` comes).
    init(lastEventID: String? = nil) {
        self.lastEventID = lastEventID
    }

    /// Parses `raw`, received at `at` (nanoseconds), calling `dispatch` for each block it completes.
    mutating func consume(_ raw: UnsafeRawBufferPointer, at: UInt64, _ dispatch: (Dispatch) -> Void) {
        var start = 0
        while start < raw.count {
            guard let end = raw[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                self.line.append(contentsOf: raw[start...])
                return
            }
            if self.line.isEmpty {
                self.processLine(UnsafeRawBufferPointer(rebasing: raw[start..<end]), at: at, dispatch)
            } else {
                self.line.append(contentsOf: raw[start..<end])
                let whole = self.line
                whole.withUnsafeBytes { self.processLine($0, at: at, dispatch) }
                self.line.removeAll(keepingCapacity: true)
            }
            start = end + 1
        }
    }

    private mutating func processLine(_ rawLine: UnsafeRawBufferPointer, at: UInt64, _ dispatch: (Dispatch) -> Void) {
        var text = rawLine
        if text.last == UInt8(ascii: "\r") { text = UnsafeRawBufferPointer(rebasing: text.dropLast()) }
        if text.isEmpty {
            dispatch(self.complete(at: at))
            return
        }
        // A comment (the server's keep-alive).
        if text[0] == UInt8(ascii: ":") { return }
        let field: UnsafeRawBufferPointer
        var value: UnsafeRawBufferPointer
        if let colon = text.firstIndex(of: UInt8(ascii: ":")) {
            field = UnsafeRawBufferPointer(rebasing: text[..<colon])
            value = UnsafeRawBufferPointer(rebasing: text[(colon + 1)...])
            if value.first == UInt8(ascii: " ") { value = UnsafeRawBufferPointer(rebasing: value.dropFirst()) }
        } else {
            field = text
            value = UnsafeRawBufferPointer(start: nil, count: 0)
        }
        if field.elementsEqual("data".utf8) {
            if self.hasData { self.data.append(UInt8(ascii: "\n")) }
            self.data.append(contentsOf: value)
            self.hasData = true
        } else if field.elementsEqual("event".utf8) {
            self.eventType = String(decoding: value, as: UTF8.self)
        } else if field.elementsEqual("id".utf8) {
            if !value.contains(0) {
                self.lastEventID = String(decoding: value, as: UTF8.self)
                self.sawID = true
            }
        }
        // "retry" and unknown fields are ignored.
    }

    private mutating func complete(at: UInt64) -> Dispatch {
        defer {
            self.data = []
            self.hasData = false
            self.eventType = nil
        }
        let event =
            self.hasData
            ? SSEEvent(type: self.eventType ?? "message", id: self.lastEventID, data: self.data, receivedAt: at) : nil
        return Dispatch(event: event, lastEventID: self.lastEventID, sawID: self.sawID)
    }
}
