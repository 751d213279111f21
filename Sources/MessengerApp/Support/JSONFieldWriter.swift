/// What a ``JSONObjectDescribing`` model writes its fields to, in order. Two writers walk the same description:
/// ``JSONObjectWriter`` (the text, by hand, for the hot paths) and ``JSONEncoderFieldWriter`` (the model's
/// `Encodable` conformance, for responses that embed the model in a `Codable` container).
///
/// Keys are the API's member names: plain ASCII identifiers, written without escaping.
protocol JSONFieldWriter {
    mutating func string(_ key: String, _ value: String)
    mutating func bool(_ key: String, _ value: Bool)
    mutating func int(_ key: String, _ value: Int)
    mutating func null(_ key: String)
    mutating func object(_ key: String, _ value: some JSONObjectDescribing)
    mutating func objectArray(_ key: String, _ values: [some JSONObjectDescribing])
    /// An object of string members, written in key order.
    mutating func stringMap(_ key: String, _ value: [String: String])
    mutating func stringArray(_ key: String, _ value: [String])
}

extension JSONFieldWriter {
    /// The member, `null` when `value` is nil.
    mutating func nullable(_ key: String, _ value: String?) {
        if let value { self.string(key, value) } else { self.null(key) }
    }

    /// The member, `null` when `value` is nil.
    mutating func nullable(_ key: String, _ value: Bool?) {
        if let value { self.bool(key, value) } else { self.null(key) }
    }

    /// The member, `null` when `value` is nil.
    mutating func nullableObject(_ key: String, _ value: (some JSONObjectDescribing)?) {
        if let value { self.object(key, value) } else { self.null(key) }
    }

    /// The member, left out when `value` is nil.
    mutating func omittingNil(_ key: String, _ value: String?) {
        if let value { self.string(key, value) }
    }

    /// The member, left out when `value` is nil.
    mutating func omittingNil(_ key: String, _ value: Bool?) {
        if let value { self.bool(key, value) }
    }
}
