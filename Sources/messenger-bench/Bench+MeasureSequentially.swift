import Foundation

/// Measuring a scenario's calls one after another.
extension Bench {
    /// The latency of each call, `requests` times one after another (plus ten unmeasured first calls that warm caches
    /// and connections), then the client and server CPU of the whole run, into `report`. A call stops at its first
    /// failed request, which the report lists as an error.
    ///
    /// With a `floor` (a request that does no work, e.g. `GET /healthz`), one floor request follows every measured
    /// request and the floor's latencies over the whole run are reported too, as `floor (<its name>)`: what any
    /// request costs on this machine at that moment — the client, the loopback, the server's wake-ups — measured under
    /// the same conditions as the calls, so a call's p99 can be read against the p99 of a request that does nothing.
    /// A server without that path (another server under `--compare`) gets no floor row.
    func measureSequentially(
        _ calls: [SeededCall], token: String, requests: Int, floor: SeededCall? = nil, into report: inout ScenarioReport
    ) async throws {
        let cpu0 = CPUSample.now()
        let server0 = self.serverCPUSeconds()
        var floorLatencies: [UInt64] = []
        var floorCall = floor
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
                if let floor = floorCall {
                    let f0 = nowNs()
                    let status = try await self.api.measuredCall(floor.method, floor.path, token: nil, json: nil).status
                    let f1 = nowNs()
                    if status != 200 {
                        floorCall = nil
                        floorLatencies = []
                    } else if i >= 10 {
                        floorLatencies.append(f1 - f0)
                    }
                }
            }
            report.latency(call.name, LatencySummary(nanoseconds: latencies))
        }
        if let floor = floorCall, !floorLatencies.isEmpty {
            report.latency("floor (\(floor.name))", LatencySummary(nanoseconds: floorLatencies))
        }
        report.cpu(from: cpu0, to: CPUSample.now(), server: (server0, self.serverCPUSeconds()))
    }
}
