import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

// MARK: - Time

/// Monotonic nanoseconds; the single clock used for every timestamp (sends, SSE receipts, pacing).
@inline(__always)
func nowNs() -> UInt64 { NIODeadline.now().uptimeNanoseconds }

/// Sleeps until the monotonic instant `deadline` (nanoseconds from `nowNs()`).
func sleep(untilNs deadline: UInt64) async throws {
    let now = nowNs()
    if deadline > now { try await Task.sleep(nanoseconds: deadline - now) }
}

func sleep(seconds: Double) async throws {
    if seconds > 0 { try await Task.sleep(nanoseconds: UInt64(seconds * 1e9)) }
}

// MARK: - Locking

/// A tiny lock box; the bench's shared counters are touched from event loop threads and tasks.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    @discardableResult
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    var current: Value { withLock { $0 } }
}

// MARK: - Percentiles

struct LatencySummary: Sendable {
    var count: Int = 0
    var min: Double = 0
    var mean: Double = 0
    var p50: Double = 0
    var p95: Double = 0
    var p99: Double = 0
    var max: Double = 0

    /// `samples` in nanoseconds; the summary is in milliseconds. Nearest-rank percentiles over a sorted array.
    init(nanoseconds samples: [UInt64]) {
        guard !samples.isEmpty else { return }
        let sorted = samples.sorted()
        func pct(_ q: Double) -> Double {
            let rank = Int((q * Double(sorted.count)).rounded(.up))
            let idx = Swift.max(0, Swift.min(sorted.count - 1, rank - 1))
            return Double(sorted[idx]) / 1e6
        }
        count = sorted.count
        min = Double(sorted[0]) / 1e6
        max = Double(sorted[sorted.count - 1]) / 1e6
        mean = Double(sorted.reduce(0, { $0 &+ $1 })) / Double(sorted.count) / 1e6
        p50 = pct(0.50)
        p95 = pct(0.95)
        p99 = pct(0.99)
    }
}

// MARK: - CPU and memory

struct CPUSample: Sendable {
    let userSeconds: Double
    let systemSeconds: Double
    let wallNs: UInt64

    static func now() -> CPUSample {
        var usage = rusage()
        #if os(Linux)
            getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        #else
            getrusage(RUSAGE_SELF, &usage)
        #endif
        func secs(_ tv: timeval) -> Double { Double(tv.tv_sec) + Double(tv.tv_usec) / 1e6 }
        return CPUSample(userSeconds: secs(usage.ru_utime), systemSeconds: secs(usage.ru_stime), wallNs: nowNs())
    }
}

/// CPU time of the server process and all its descendants (e.g. an embedded PostgreSQL), from /proc.
func processTreeCPUSeconds(root: Int32) -> Double? {
    #if os(Linux)
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard ticks > 0, let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        var parent: [Int32: Int32] = [:]
        var cpu: [Int32: Double] = [:]
        for entry in entries {
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            // Fields after "comm)": state(3) ppid(4) ... utime(14) stime(15)
            let rest = stat[stat.index(after: close)...].split(separator: " ")
            guard rest.count > 13, let ppid = Int32(rest[1]), let ut = Double(rest[11]), let st = Double(rest[12])
            else { continue }
            parent[pid] = ppid
            cpu[pid] = (ut + st) / ticks
        }
        guard cpu[root] != nil else { return nil }
        var total = 0.0
        for (pid, seconds) in cpu {
            var p = pid
            var depth = 0
            while depth < 64 {
                if p == root { total += seconds; break }
                guard let pp = parent[p], pp > 0 else { break }
                p = pp
                depth += 1
            }
        }
        return total
    #else
        return nil
    #endif
}

/// VmRSS of a process in kB, from /proc/<pid>/status.
func residentKB(pid: Int32) -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        let digits = line.dropFirst("VmRSS:".count).trimmingCharacters(in: .whitespaces).split(separator: " ").first
        return digits.flatMap { Int($0) }
    }
    return nil
}

/// The 1/5/15-minute load averages (a shared machine makes every number noisier; the report says how busy it was).
func loadAverage() -> String {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}

/// Open file descriptors of a process (sockets included), from /proc/<pid>/fd.
func openFileCount(pid: Int32) -> Int? {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")).map(\.count)
}

/// Raises RLIMIT_NOFILE's soft limit to the hard limit. Returns (before, after).
func raiseFileLimit() -> (before: UInt64, after: UInt64) {
    var rl = rlimit()
    #if os(Linux)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
        let resource = RLIMIT_NOFILE
    #endif
    guard getrlimit(resource, &rl) == 0 else { return (0, 0) }
    let before = UInt64(rl.rlim_cur)
    if rl.rlim_cur < rl.rlim_max {
        var wanted = rl
        wanted.rlim_cur = rl.rlim_max
        #if canImport(Darwin)
            if wanted.rlim_cur > rlim_t(OPEN_MAX) { wanted.rlim_cur = rlim_t(OPEN_MAX) }
        #endif
        if setrlimit(resource, &wanted) == 0 { rl = wanted }
    }
    _ = getrlimit(resource, &rl)
    return (before, UInt64(rl.rlim_cur))
}

// MARK: - Misc

func randomRunId() -> String {
    let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789")
    return String((0..<6).map { _ in alphabet[Int.random(in: 0..<alphabet.count)] })
}

func fmt(_ value: Double, _ decimals: Int = 2) -> String {
    String(format: "%.\(decimals)f", value)
}

func log(_ message: String) {
    FileHandle.standardError.write(Data("[bench] \(message)\n".utf8))
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `work` over `items` with at most `width` in flight; results in input order.
func boundedMap<T: Sendable, R: Sendable>(
    _ items: [T], width: Int, _ work: @escaping @Sendable (T) async throws -> R
) async throws -> [R] {
    var results = [R?](repeating: nil, count: items.count)
    try await withThrowingTaskGroup(of: (Int, R).self) { group in
        var next = 0
        while next < items.count && next < width {
            let i = next
            group.addTask { (i, try await work(items[i])) }
            next += 1
        }
        while let (i, r) = try await group.next() {
            results[i] = r
            if next < items.count {
                let j = next
                group.addTask { (j, try await work(items[j])) }
                next += 1
            }
        }
    }
    return results.map { $0! }
}
