/// Writes a ``JSONObjectDescribing`` model's members as JSON text in one growing `String`: no intermediate
/// containers, no `Data`, no reflection.
struct JSONObjectWriter: JSONFieldWriter {
    private var text: String
    private var first = true

    /// Continues `text`: its storage moves into the writer (no copy); ``append(_:to:)`` moves it back.
    private init(taking text: inout String) {
        self.text = ""
        swap(&self.text, &text)
        self.text += "{"
    }

    /// Appends `value`'s object to `text`, in place: one object (``JSONObjectDescribing/jsonText``) or the next of
    /// an array.
    static func append(_ value: some JSONObjectDescribing, to text: inout String) {
        var writer = JSONObjectWriter(taking: &text)
        value.describeJSON(to: &writer)
        writer.text += "}"
        swap(&writer.text, &text)
    }

    /// `[object,…]` of `values`, in one string reserved for `capacityEach` bytes per object.
    static func array(_ values: [some JSONObjectDescribing], capacityEach: Int = 512) -> String {
        var text = ""
        text.reserveCapacity(2 + values.count * capacityEach)
        Self.appendArray(values, to: &text)
        return text
    }

    private static func appendArray(_ values: [some JSONObjectDescribing], to text: inout String) {
        text += "["
        for (index, value) in values.enumerated() {
            if index > 0 { text += "," }
            Self.append(value, to: &text)
        }
        text += "]"
    }

    private mutating func key(_ key: String) {
        self.text += self.first ? "\"" : ",\""
        self.first = false
        self.text += key
        self.text += "\":"
    }

    mutating func string(_ key: String, _ value: String) {
        self.key(key)
        JSONText.append(value, to: &self.text)
    }

    mutating func bool(_ key: String, _ value: Bool) {
        self.key(key)
        self.text += value ? "true" : "false"
    }

    mutating func int(_ key: String, _ value: Int) {
        self.key(key)
        self.text += String(value)
    }

    mutating func null(_ key: String) {
        self.key(key)
        self.text += "null"
    }

    mutating func object(_ key: String, _ value: some JSONObjectDescribing) {
        self.key(key)
        self.text += "{"
        self.first = true
        value.describeJSON(to: &self)
        self.text += "}"
        self.first = false
    }

    mutating func objectArray(_ key: String, _ values: [some JSONObjectDescribing]) {
        self.key(key)
        Self.appendArray(values, to: &self.text)
    }

    mutating func stringMap(_ key: String, _ value: [String: String]) {
        self.key(key)
        self.text += "{"
        for (index, member) in value.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { self.text += "," }
            JSONText.append(member.key, to: &self.text)
            self.text += ":"
            JSONText.append(member.value, to: &self.text)
        }
        self.text += "}"
    }

    mutating func stringArray(_ key: String, _ value: [String]) {
        self.key(key)
        self.text += "["
        for (index, element) in value.enumerated() {
            if index > 0 { self.text += "," }
            JSONText.append(element, to: &self.text)
        }
        self.text += "]"
    }
}
