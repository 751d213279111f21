import Hummingbird
import PostgresLibPQ

/// `/healthz` (the process answers) and `/readyz` (the database answers too).
public struct HealthController: Sendable {
    let pool: PostgresConnectionPool

    public init(pool: PostgresConnectionPool) {
        self.pool = pool
    }

    public func routes(on router: Router<AppRequestContext>) {
        router.get("healthz") { _, _ in try JSONResponse.make(["status": "ok"]) }
        router.get("readyz") { _, _ in
            do {
                try await self.pool.query("SELECT 1")
                return try JSONResponse.make(["status": "ok"])
            } catch {
                return try JSONResponse.make(["status": "database unavailable"], status: .serviceUnavailable)
            }
        }
    }
}
