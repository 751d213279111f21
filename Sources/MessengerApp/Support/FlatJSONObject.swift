/// A JSON object whose members are all strings or `null` — the shape of a message send's body — read in one pass
/// over its bytes.
///
/// A send is the request this server answers most, and `JSONDecoder` plus the bad-text check before it cost ~4% of a
/// send's server CPU with 32 senders (perf). Anything outside this shape or doubtful (another value type, an invalid
/// escape, a raw control character, invalid UTF-8, an escaped NUL or an unpaired surrogate, text after the object)
/// gives nil, and the body goes the general way (``JSONTextCheck``, then `JSONDecoder` with its error texts), so this
/// path never accepts a body that one refuses, and never decodes one differently.
enum FlatJSONObject {
    /// One member, in the order written; a `null` value is nil.
    typealias Member = (key: String, value: String?)

    /// The members of `bytes`, or nil when they are not (only) a flat object of strings and nulls.
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> [Member]? {
        var reader = Reader(bytes: bytes)
        return reader.object()
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        static let quote = UInt8(ascii: "\"")
        static let backslash = UInt8(ascii: "\\")

        mutating func object() -> [Member]? {
            self.skipSpace()
            guard self.take(UInt8(ascii: "{")) else { return nil }
            var members: [Member] = []
            self.skipSpace()
            if self.take(UInt8(ascii: "}")) { return self.atEnd() ? members : nil }
            while true {
                self.skipSpace()
                guard let key = self.string() else { return nil }
                self.skipSpace()
                guard self.take(UInt8(ascii: ":")) else { return nil }
                self.skipSpace()
                if self.index < self.bytes.count, self.bytes[self.index] == Self.quote {
                    guard let value = self.string() else { return nil }
                    members.append((key, value))
                } else if self.takeNull() {
                    members.append((key, nil))
                } else {
                    return nil
                }
                self.skipSpace()
                if self.take(UInt8(ascii: ",")) { continue }
                guard self.take(UInt8(ascii: "}")) else { return nil }
                return self.atEnd() ? members : nil
            }
        }

        /// Only whitespace may follow the object.
        private mutating func atEnd() -> Bool {
            self.skipSpace()
            return self.index == self.bytes.count
        }

        private mutating func skipSpace() {
            while self.index < self.bytes.count {
                switch self.bytes[self.index] {
                case 0x20, 0x09, 0x0A, 0x0D: self.index += 1
                default: return
                }
            }
        }

        private mutating func take(_ byte: UInt8) -> Bool {
            guard self.index < self.bytes.count, self.bytes[self.index] == byte else { return false }
            self.index += 1
            return true
        }

        private mutating func takeNull() -> Bool {
            guard self.index + 4 <= self.bytes.count, self.bytes[self.index..<self.index + 4].elementsEqual("null".utf8) else { return false }
            self.index += 4
            return true
        }

        /// A string at the cursor (which is on its opening quote): without escapes a slice of the input, validated
        /// as UTF-8 once; with them, copied while they are resolved.
        private mutating func string() -> String? {
            guard self.take(Self.quote) else { return nil }
            let start = self.index
            while self.index < self.bytes.count {
                let byte = self.bytes[self.index]
                if byte == Self.quote {
                    defer { self.index += 1 }
                    return String(validating: UnsafeBufferPointer(rebasing: self.bytes[start..<self.index]), as: UTF8.self)
                }
                if byte == Self.backslash { break }
                if byte < 0x20 { return nil }
                self.index += 1
            }
            var text = Array(self.bytes[start..<self.index])
            while self.index < self.bytes.count {
                let byte = self.bytes[self.index]
                self.index += 1
                if byte == Self.quote { return String(validating: text, as: UTF8.self) }
                if byte < 0x20 { return nil }
                guard byte == Self.backslash else {
                    text.append(byte)
                    continue
                }
                guard self.index < self.bytes.count else { return nil }
                let escaped = self.bytes[self.index]
                self.index += 1
                switch escaped {
                case Self.quote, Self.backslash, UInt8(ascii: "/"): text.append(escaped)
                case UInt8(ascii: "b"): text.append(0x08)
                case UInt8(ascii: "f"): text.append(0x0C)
                case UInt8(ascii: "n"): text.append(0x0A)
                case UInt8(ascii: "r"): text.append(0x0D)
                case UInt8(ascii: "t"): text.append(0x09)
                case UInt8(ascii: "u"):
                    guard let scalar = self.escapedScalar() else { return nil }
                    UTF8.encode(scalar) { text.append($0) }
                default: return nil
                }
            }
            return nil
        }

        /// The scalar of a `\u` escape whose four digits are at the cursor (two escapes for a surrogate pair); nil
        /// for a NUL or an unpaired surrogate, which the general path answers with a 422.
        private mutating func escapedScalar() -> Unicode.Scalar? {
            guard let unit = self.hex() else { return nil }
            switch unit {
            case 0, 0xDC00...0xDFFF:
                return nil
            case 0xD800...0xDBFF:
                guard self.take(Self.backslash), self.take(UInt8(ascii: "u")), let low = self.hex(), (0xDC00...0xDFFF).contains(low) else {
                    return nil
                }
                return Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
            default:
                return Unicode.Scalar(unit)
            }
        }

        private mutating func hex() -> UInt32? {
            guard let unit = JSONTextCheck.hexUnit(self.bytes, at: self.index) else { return nil }
            self.index += 4
            return unit
        }
    }
}
