import Foundation
import Testing

@testable import MessengerApp

/// The send body's fast path decodes exactly as `JSONDecoder` does, and hands everything else to it.
@Suite struct FlatJSONObjectTests {
    typealias Input = MessageController.CreateInput

    static func parse(_ bytes: [UInt8]) -> [FlatJSONObject.Member]? {
        bytes.withUnsafeBufferPointer { FlatJSONObject.parse($0) }
    }

    static func reference(_ bytes: [UInt8]) -> Input? {
        guard JSONTextCheck.fieldWithBadText(in: bytes) == nil else { return nil }
        return try? JSONDecoder().decode(Input.self, from: Data(bytes))
    }

    /// Bodies the fast path must take: what clients send, with every escape and whitespace JSON allows.
    static let taken: [String] = [
        #"{"content":"hello"}"#, #"{"content":"hello","clientId":"c-1"}"#, #"{"clientId":"c-1","content":"hello"}"#,
        #"{}"#, #" { "content" : "spaced" } "#, "{\n\t\"content\":\r\n\"lines\"\n}\n", #"{"content":null,"clientId":null}"#,
        #"{"content":"q \" b \\ s \/ \b\f\n\r\t"}"#, #"{"content":"\u00e9\u4E2D\ud83d\ude00 and \u0041"}"#,
        #"{"content":"raw é 中文 😀"}"#, #"{"content":"x","other":"ignored","more":null}"#, #"{"content":""}"#,
        #"{"content":"\u007f\u0001"}"#, #"{"Content":"other key","content":"real"}"#,
    ]

    @Test(arguments: taken)
    func takenBodiesDecodeAsJSONDecoderDoes(_ body: String) throws {
        let bytes = Array(body.utf8)
        let members = try #require(Self.parse(bytes))
        let fast = try #require(Input(flatJSON: members))
        let reference = try #require(Self.reference(bytes))
        #expect(fast.content == reference.content)
        #expect(fast.clientId == reference.clientId)
    }

    /// Bodies the fast path must leave to `JSONDecoder`: other shapes, and every kind of bad text.
    static let declinedTexts: [String] = [
        #"{"content":1}"#, #"{"content":true}"#, #"{"content":["a"]}"#, #"{"content":{"a":"b"}}"#, #"["content"]"#, #""content""#,
        #"{"content":"x",}"#, #"{"content" "x"}"#, #"{"content":"x""#, #"{"content":"x"} x"#, #"{"content":"x"}{}"#,
        #"{content:"x"}"#, #"{'content':'x'}"#, #"{"content":"bad \x escape"}"#, #"{"content":"\u12"}"#, #"{"content":"\u0000"}"#,
        #"{"content":"\ud800"}"#, #"{"content":"\udc00 low"}"#, #"{"content":"\ud800\u0041"}"#, #"{"content":nul}"#,
        #"{"content":NULL}"#, "{\"content\":\"tab\there\"}", "{\"content\":\"nul\u{0}\"}", "\u{FEFF}{\"content\":\"bom\"}", "", " ",
        #"{"content":"unterminated}"#, #"{"content":"x"#,
    ]

    static let declinedBytes: [[UInt8]] = [
        Array(#"{"content":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8),  // invalid UTF-8
        Array(#"{"content":""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}"#.utf8),  // an encoded surrogate
        Array(#"{""#.utf8) + [0xFF] + Array(#"":"x"}"#.utf8),
    ]

    static let declined: [[UInt8]] = declinedTexts.map { Array($0.utf8) } + declinedBytes

    @Test(arguments: declined)
    func otherBodiesAreLeftToJSONDecoder(_ bytes: [UInt8]) {
        #expect(Self.parse(bytes) == nil)
    }

    @Test("a key given twice is left to JSONDecoder")
    func duplicateKeys() throws {
        for body in [#"{"content":"a","content":"b"}"#, #"{"clientId":null,"content":"a","clientId":"c"}"#] {
            let members = try #require(Self.parse(Array(body.utf8)))
            #expect(Input(flatJSON: members) == nil)
        }
    }

    @Test("on 20,000 random bodies the fast path never takes one that JSONDecoder refuses or reads differently")
    func randomBodies() {
        let pieces = [
            "{", "}", "\"", ":", ",", " ", "\n", "\\", "\\\"", "\\u", "\\ud83d", "\\ude00", "\\u0000", "\\u00e9", "\\n", "\\x", "null", "nul",
            "1", "content", "clientId", "a", "é", "😀", "\t", "\u{1}", "[", "]", "true",
        ]
        var generator = SystemRandomNumberGenerator()
        var taken = 0
        for _ in 0..<20_000 {
            var body = #"{"content":""#
            for _ in 0..<Int.random(in: 0...8, using: &generator) { body += pieces.randomElement(using: &generator)! }
            if Bool.random(using: &generator) { body += #"""# + pieces.randomElement(using: &generator)! }
            body += Bool.random(using: &generator) ? #""}"# : "}"
            let bytes = Array(body.utf8)
            guard let members = Self.parse(bytes), let fast = Input(flatJSON: members) else { continue }
            taken += 1
            let reference = Self.reference(bytes)
            #expect(reference != nil, "taken but refused by JSONDecoder: \(body)")
            #expect(fast.content == reference?.content, "\(body)")
            #expect(fast.clientId == reference?.clientId, "\(body)")
        }
        // Enough of them were valid to mean something.
        #expect(taken > 1_000)
    }
}
