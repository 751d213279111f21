/// Writes a ``JSONObjectDescribing`` model's members into a keyed encoding container: the model's `Encodable`
/// conformance, generated from the same description as its hand-written text.
struct JSONEncoderFieldWriter: JSONFieldWriter {
    var container: KeyedEncodingContainer<JSONKey>
    /// The first error the container threw; the rest of the description is then skipped and
    /// ``JSONObjectDescribing/encodeDescribedJSON(to:)`` rethrows it.
    private(set) var error: (any Error)?

    init(container: KeyedEncodingContainer<JSONKey>) {
        self.container = container
    }

    private mutating func attempt(_ body: (inout KeyedEncodingContainer<JSONKey>) throws -> Void) {
        guard self.error == nil else { return }
        do { try body(&self.container) } catch { self.error = error }
    }

    mutating func string(_ key: String, _ value: String) {
        self.attempt { try $0.encode(value, forKey: JSONKey(key)) }
    }

    mutating func bool(_ key: String, _ value: Bool) {
        self.attempt { try $0.encode(value, forKey: JSONKey(key)) }
    }

    mutating func int(_ key: String, _ value: Int) {
        self.attempt { try $0.encode(value, forKey: JSONKey(key)) }
    }

    mutating func null(_ key: String) {
        self.attempt { try $0.encodeNil(forKey: JSONKey(key)) }
    }

    mutating func object(_ key: String, _ value: some JSONObjectDescribing) {
        self.attempt { try $0.encode(value, forKey: JSONKey(key)) }
    }

    mutating func objectArray(_ key: String, _ values: [some JSONObjectDescribing]) {
        self.attempt { try $0.encode(values, forKey: JSONKey(key)) }
    }

    mutating func stringMap(_ key: String, _ value: [String: String]) {
        self.attempt { container in
            var nested = container.nestedContainer(keyedBy: JSONKey.self, forKey: JSONKey(key))
            for (member, text) in value.sorted(by: { $0.key < $1.key }) { try nested.encode(text, forKey: JSONKey(member)) }
        }
    }

    mutating func stringArray(_ key: String, _ value: [String]) {
        self.attempt { try $0.encode(value, forKey: JSONKey(key)) }
    }
}
