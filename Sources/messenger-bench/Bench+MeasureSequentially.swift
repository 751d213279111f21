import Foundation

/// Measuring a scenario's calls one after another.
extension Bench {
    /// The latency of each call, `requests` times one after another (plus ten unmeasured first calls that warm caches
    /// and connections), then the client and server CPU of the whole run, into `report`. A call stops at its first
    /// failed request, which the report lists as an error.
    func measureSequentially(_ calls: [SeededCall], token: String, requests: Int, into report: inout ScenarioReport) async throws {
        let cpu0 = CPUSample.now()
        let server0 = self.serverCPUSeconds()
        for call in calls {
            var latencies: [UInt64] = []
            for i in 0..<(requests + 10) {
                let t0 = nowNs()
                let result = try await self.api.measuredCall(call.method, call.path, token: token, json: call.body?(i))
                let t1 = nowNs()
                guard result.status == 200 || result.status == 201 else {
                    report.errors.append("\(call.name): status \(result.status)")
                    break
                }
                if i >= 10 { latencies.append(t1 - t0) }
            }
            report.latency(call.name, LatencySummary(nanoseconds: latencies))
        }
        report.cpu(from: cpu0, to: CPUSample.now(), server: (server0, self.serverCPUSeconds()))
    }
}
