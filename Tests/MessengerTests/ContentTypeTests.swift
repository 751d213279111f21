import Testing

@testable import MessengerApp

/// Which `Content-Type` values a JSON body may come with.
@Suite struct ContentTypeTests {
    @Test(arguments: [
        ("application/json", true), ("Application/JSON", true), ("application/json; charset=utf-8", true),
        (" application/json ;charset=latin1", true), ("\tapplication/json\t", true), ("application/json;", true),
        ("application/jsonx", false), ("application/json-patch+json", false), ("text/json", false), ("application\\json", false),
        ("applicationXjson", false), ("application/ json", false), ("", false), (";application/json", false), ("application/jsoN\u{0}", false),
        ("appl\u{C9}cation/json", false),
    ])
    func json(_ value: String, _ accepted: Bool) {
        #expect(ContentTypeMiddleware<AppRequestContext>.isJSON(value) == accepted)
    }
}
