import Hummingbird

extension Request {
    /// Decodes an optional JSON body through the context's size limit and checks: an empty body gives nil.
    func decodeIfPresent<T: Decodable>(as type: T.Type, context: AppRequestContext) async throws -> T? {
        try await AppRequestDecoder.decodeIfPresent(T.self, from: self, limit: context.maxUploadSize)
    }
}
