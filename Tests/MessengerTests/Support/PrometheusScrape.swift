import Foundation

/// A parsed Prometheus text-format scrape: `name{label="value",…}` → value, labels in sorted order so that tests can
/// name a series without caring about the order the exporter writes them in.
struct PrometheusScrape: Sendable {
    let text: String
    let samples: [String: Double]

    init(_ text: String) {
        self.text = text
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[Self.key(String(line[..<space]))] = value
        }
        self.samples = samples
    }

    /// The value of a series (0 when absent, as a counter that never moved).
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double {
        self.samples[Self.key(name, labels)] ?? 0
    }

    func has(_ name: String, _ labels: [String: String] = [:]) -> Bool {
        self.samples[Self.key(name, labels)] != nil
    }

    static func key(_ name: String, _ labels: [String: String]) -> String {
        labels.isEmpty ? name : name + "{" + labels.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: ",") + "}"
    }

    /// Normalises a series as written by the exporter.
    private static func key(_ series: String) -> String {
        guard let open = series.firstIndex(of: "{"), series.hasSuffix("}") else { return series }
        let name = String(series[..<open])
        var labels: [String: String] = [:]
        for pair in series[series.index(after: open)..<series.index(before: series.endIndex)].split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            labels[String(parts[0])] = String(parts[1]).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        }
        return self.key(name, labels)
    }
}
