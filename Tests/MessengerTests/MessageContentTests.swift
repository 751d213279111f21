import Testing

@testable import MessengerApp

@Suite("Message content normalisation")
struct MessageContentTests {
    @Test("the ASCII pass gives exactly what splitting by Character gives, on random text of whitespace and words")
    func asciiMatchesCharacters() {
        // Every ASCII newline and whitespace byte, two letters and a control character that is neither.
        let alphabet: [Character] = ["a", "b", " ", "\t", "\n", "\r", "\r\n", "\u{0B}", "\u{0C}", "\u{1F}", "\u{0}"]
        var generator = SplitMix64(seed: 0x5EED)
        for _ in 0..<20_000 {
            let length = Int(generator.next() % 24)
            let text = String((0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] })
            let fast = MessageContent.normalizeASCII(text)
            #expect(fast == MessageContent.normalizeCharacters(text), "\(text.debugDescription)")
            if fast != MessageContent.normalizeCharacters(text) { return }
        }
    }

    @Test("text with any non-ASCII character takes the Character path")
    func nonASCII() {
        #expect(MessageContent.normalizeASCII("caf\u{E9}  au\u{2028}lait") == nil)
        // U+2028 is a newline and U+00A0 whitespace only to the Character path.
        #expect(MessageContent.normalize("  caf\u{E9}\u{A0}\u{A0}au\u{2028}\u{2028} lait ") == "caf\u{E9} au\nlait")
        #expect(MessageContent.normalize("\r\n  hello \t world \n\n\u{0B} again  \r\n") == "hello world\nagain")
    }
}

/// A small seeded generator, so that a failure can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
