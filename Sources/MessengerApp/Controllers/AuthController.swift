import Foundation
import Hummingbird

/// Registration, both logins, the current user, token refresh, logout and username search.
public struct AuthController: Sendable {
    let users: any UserRepository
    let authenticator: Authenticator
    let hasher: PasswordHasher
    let configuration: AppConfiguration
    let limiter: LoginLimiter
    let metrics: AppMetrics
    /// Called on logout so the realtime layer closes the session's streams (here and on other instances).
    let onLogout: @Sendable (UUID) async -> Void

    public init(
        users: any UserRepository,
        authenticator: Authenticator,
        hasher: PasswordHasher,
        configuration: AppConfiguration,
        metrics: AppMetrics,
        onLogout: @escaping @Sendable (UUID) async -> Void
    ) {
        self.metrics = metrics
        self.users = users
        self.authenticator = authenticator
        self.hasher = hasher
        self.configuration = configuration
        self.limiter = LoginLimiter(limit: configuration.loginAttemptsPerMinute)
        self.onLogout = onLogout
    }

    struct Credentials: Decodable {
        var username: String?
        var password: String?
    }

    /// Routes that need no token.
    public func publicRoutes(on group: RouterGroup<AppRequestContext>) {
        group.post("register", use: self.register)
        group.post("login", use: self.login)
        group.get("config", use: self.config)
    }

    /// Routes behind the guard.
    public func protectedRoutes(on group: RouterGroup<AppRequestContext>) {
        group.get("auth_user", use: self.authUser)
        group.post("refresh_token", use: self.refresh)
        group.post("logout", use: self.logout)
        group.get("usernames", use: self.usernames)
    }

    @Sendable func config(_ request: Request, context: AppRequestContext) async throws -> Response {
        struct Output: Encodable {
            var devLogin: Bool
            var maxMessageLength: Int
            var maxGroupSize: Int
            /// How long after sending the author may edit a message (clients hide Edit after it).
            var editWindowSeconds: Int64
        }
        return try JSONResponse.make(
            Output(
                devLogin: self.configuration.devLogin, maxMessageLength: self.configuration.maxMessageLength,
                maxGroupSize: self.configuration.maxGroupSize,
                editWindowSeconds: self.configuration.editWindow.components.seconds)
        )
    }

    @Sendable func register(_ request: Request, context: AppRequestContext) async throws -> Response {
        let input = try await request.decode(as: Credentials.self, context: context)
        var errors: [String: String] = [:]
        let username = input.username ?? ""
        let password = input.password ?? ""
        if !Username.isValid(username) { errors["username"] = "username " + Username.rule }
        if !(8...72).contains(password.utf8.count) { errors["password"] = "password must be 8-72 bytes" }
        if !errors.isEmpty { throw AppError.validation(errors) }
        try self.checkRate(username: username, context: context)
        if try await self.users.find(username: username) != nil {
            self.metrics.loginFailed(.usernameTaken)
            throw AppError.conflict("username taken")
        }
        let hash = try await self.hasher.hash(password)
        guard let user = try await self.users.create(username: username, passwordHash: hash) else {
            self.metrics.loginFailed(.usernameTaken)
            throw AppError.conflict("username taken")
        }
        return try JSONResponse.make(try await self.issue(for: user), status: .created)
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        let input = try await request.decode(as: Credentials.self, context: context)
        guard let username = input.username, !username.isEmpty else {
            throw AppError.validation(["username": "username required"])
        }
        guard let password = input.password else {
            return try await self.devLogin(username: username, context: context)
        }
        try self.checkRate(username: username, context: context)
        let user = try await self.users.find(username: username)
        // Always one bcrypt verification, against a dummy hash of the same cost when there is no password to
        // check: an unknown username must not answer measurably faster than a wrong password.
        var hash = user?.passwordHash ?? ""
        if hash.isEmpty { hash = try await self.hasher.dummyHash() }
        let matches = try await self.hasher.verify(password, hash: hash)
        guard let user, user.passwordHash != nil, matches else {
            self.metrics.loginFailed(.badCredentials)
            throw AppError.unauthorized("invalid username or password")
        }
        return try JSONResponse.make(try await self.issue(for: user))
    }

    private func devLogin(username: String, context: AppRequestContext) async throws -> Response {
        guard self.configuration.devLogin else { throw AppError.notFound("dev login is disabled") }
        guard Username.isValid(username) else { throw AppError.validation(["username": "username " + Username.rule]) }
        let user = try await self.users.findOrCreate(username: username)
        // An account with a password is never entered without it.
        guard user.passwordHash == nil else {
            self.metrics.loginFailed(.badCredentials)
            throw AppError.unauthorized("invalid username or password")
        }
        return try JSONResponse.make(try await self.issue(for: user))
    }

    private func checkRate(username: String, context: AppRequestContext) throws {
        if let wait = self.limiter.attempt(username: username, address: context.remoteAddress) {
            self.metrics.loginRateLimited.increment()
            throw AppError(.tooManyRequests, "too many login attempts, try again later", headers: [.retryAfter: String(wait)])
        }
    }

    private func issue(for user: UserRecord) async throws -> AuthOutput {
        let now = Date()
        let expiresAt = self.authenticator.tokens.expiry(from: now)
        let session = try await self.users.createSession(userID: user.id, expiresAt: expiresAt)
        let (token, expiry) = try await self.authenticator.tokens.issue(userID: user.id, sessionID: session, now: now)
        self.authenticator.remember(token: token, for: Identity(userID: user.id, sessionID: session, expiresAt: expiry))
        return AuthOutput(authUser: user.user, token: token, expiresAt: Timestamp.format(expiry))
    }

    @Sendable func authUser(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        guard let user = try await self.users.find(id: identity.userID) else { throw AppError.unauthorized("user not found") }
        return JSONResponse.make(user.user)
    }

    @Sendable func refresh(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let now = Date()
        let (token, expiresAt) = try await self.authenticator.tokens.issue(userID: identity.userID, sessionID: identity.sessionID, now: now)
        try await self.users.extendSession(sessionID: identity.sessionID, expiresAt: expiresAt)
        self.authenticator.remember(token: token, for: Identity(userID: identity.userID, sessionID: identity.sessionID, expiresAt: expiresAt))
        return try JSONResponse.make(TokenOutput(token: token, expiresAt: Timestamp.format(expiresAt)))
    }

    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        try await self.users.revokeSession(sessionID: identity.sessionID)
        self.authenticator.sessions.revoke(identity.sessionID)
        await self.onLogout(identity.sessionID)
        return Response(status: .noContent)
    }

    @Sendable func usernames(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        guard let search = try QueryText.value("search", in: request), !search.isEmpty else {
            throw AppError.validation(["search": "search required"])
        }
        let first = try QueryInt.parse(request.uri.queryParameters["first"].map(String.init), name: "first", default: 5, range: 1...50)
        return try JSONResponse.make(try await self.users.search(prefix: search, excluding: identity.userID, limit: first))
    }
}
