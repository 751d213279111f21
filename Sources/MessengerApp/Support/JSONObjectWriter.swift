/// Writes a ``JSONObjectDescribing`` model's members as JSON text into one growing buffer of UTF-8 bytes: no
/// intermediate containers, no `Data`, no reflection.
///
/// Bytes rather than a `String`: a page of 25 conversations is ~800 small appends, and `String`'s append path
/// (capacity and uniqueness checks, count and ASCII flags per append) took ~17% of the server's CPU per page (perf,
/// `GET /api/conversations`); appending to an array is a capacity check and a copy.
struct JSONObjectWriter: JSONFieldWriter {
    private var text: [UInt8]
    private var first = true

    /// Continues `text`: its storage moves into the writer (no copy); ``append(_:to:)`` moves it back.
    private init(taking text: inout [UInt8]) {
        self.text = []
        swap(&self.text, &text)
        self.text.append(UInt8(ascii: "{"))
    }

    /// Appends `value`'s object to `text`, in place: one object (``JSONObjectDescribing/jsonText``) or the next of
    /// an array.
    static func append(_ value: some JSONObjectDescribing, to text: inout [UInt8]) {
        var writer = JSONObjectWriter(taking: &text)
        value.describeJSON(to: &writer)
        writer.text.append(UInt8(ascii: "}"))
        swap(&writer.text, &text)
    }

    /// `[object,…]` of `values` as UTF-8, in one buffer reserved for `capacityEach` bytes per object.
    static func arrayBytes(_ values: [some JSONObjectDescribing], capacityEach: Int = 512) -> [UInt8] {
        var text: [UInt8] = []
        text.reserveCapacity(2 + values.count * capacityEach)
        Self.appendArray(values, to: &text)
        return text
    }

    private static func appendArray(_ values: [some JSONObjectDescribing], to text: inout [UInt8]) {
        text.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { text.append(UInt8(ascii: ",")) }
            Self.append(value, to: &text)
        }
        text.append(UInt8(ascii: "]"))
    }

    private mutating func key(_ key: String) {
        if !self.first { self.text.append(UInt8(ascii: ",")) }
        self.text.append(UInt8(ascii: "\""))
        self.first = false
        self.text.append(contentsOf: key.utf8)
        self.text.append(contentsOf: "\":".utf8)
    }

    mutating func string(_ key: String, _ value: String) {
        self.key(key)
        JSONText.append(value, to: &self.text)
    }

    mutating func bool(_ key: String, _ value: Bool) {
        self.key(key)
        self.text.append(contentsOf: value ? "true".utf8 : "false".utf8)
    }

    mutating func int(_ key: String, _ value: Int) {
        self.key(key)
        self.text.append(contentsOf: String(value).utf8)
    }

    mutating func null(_ key: String) {
        self.key(key)
        self.text.append(contentsOf: "null".utf8)
    }

    mutating func object(_ key: String, _ value: some JSONObjectDescribing) {
        self.key(key)
        self.text.append(UInt8(ascii: "{"))
        self.first = true
        value.describeJSON(to: &self)
        self.text.append(UInt8(ascii: "}"))
        self.first = false
    }

    mutating func objectArray(_ key: String, _ values: [some JSONObjectDescribing]) {
        self.key(key)
        Self.appendArray(values, to: &self.text)
    }

    mutating func stringMap(_ key: String, _ value: [String: String]) {
        self.key(key)
        self.text.append(UInt8(ascii: "{"))
        for (index, member) in value.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { self.text.append(UInt8(ascii: ",")) }
            JSONText.append(member.key, to: &self.text)
            self.text.append(UInt8(ascii: ":"))
            JSONText.append(member.value, to: &self.text)
        }
        self.text.append(UInt8(ascii: "}"))
    }

    mutating func stringArray(_ key: String, _ value: [String]) {
        self.key(key)
        self.text.append(UInt8(ascii: "["))
        for (index, element) in value.enumerated() {
            if index > 0 { self.text.append(UInt8(ascii: ",")) }
            JSONText.append(element, to: &self.text)
        }
        self.text.append(UInt8(ascii: "]"))
    }
}
