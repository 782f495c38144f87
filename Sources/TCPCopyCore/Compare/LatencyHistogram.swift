/// Latencies in fixed logarithmic buckets, 50 a decade from 10 µs to 100 s (each about 4.7%
/// wide), so that percentiles take bounded memory however many exchanges are counted. A
/// percentile is its bucket's geometric middle: within about 2.3% of the exact value.
public struct LatencyHistogram: Equatable, Sendable {
    public static let bucketsPerDecade = 50
    /// The lowest bucket's lower bound; anything below counts in the lowest bucket.
    public static let lowestMicroseconds = 10.0
    static let decades = 7

    /// Upper bounds of the buckets, in microseconds; the last bucket also takes anything above.
    public static let upperBounds: [Double] = {
        var step = 1.0
        // 10^(1/50) by bisection on step^50 = 10: the core has no libm.
        var low = 1.0
        var high = 1.1
        for _ in 0..<60 {
            let middle = (low + high) / 2
            var power = 1.0
            for _ in 0..<bucketsPerDecade { power *= middle }
            if power < 10 { low = middle } else { high = middle }
        }
        step = (low + high) / 2
        var bounds: [Double] = []
        var bound = lowestMicroseconds
        for _ in 0..<(bucketsPerDecade * decades) {
            bound *= step
            bounds.append(bound)
        }
        return bounds
    }()

    public private(set) var counts: [UInt32]
    public private(set) var total: UInt64 = 0

    public init() { counts = [UInt32](repeating: 0, count: Self.upperBounds.count) }

    public mutating func record(microseconds: UInt64) {
        let value = Double(microseconds)
        var low = 0
        var high = Self.upperBounds.count - 1
        while low < high {
            let middle = (low + high) / 2
            if value <= Self.upperBounds[middle] { high = middle } else { low = middle + 1 }
        }
        if counts[low] < UInt32.max { counts[low] += 1 }
        total += 1
    }

    /// The value under which `fraction` (0...1) of the recorded latencies fall, in
    /// microseconds; nil when nothing was recorded.
    public func percentile(_ fraction: Double) -> Double? {
        guard total > 0 else { return nil }
        let rank = max(1, UInt64((fraction * Double(total)).rounded(.up)))
        var seen: UInt64 = 0
        for (index, count) in counts.enumerated() {
            seen += UInt64(count)
            if seen >= rank { return Self.middle(ofBucket: index) }
        }
        return Self.middle(ofBucket: counts.count - 1)
    }

    static func middle(ofBucket index: Int) -> Double {
        let upper = upperBounds[index]
        let lower = index == 0 ? lowestMicroseconds : upperBounds[index - 1]
        // The geometric middle of [lower, upper]: lower * sqrt(upper / lower), with the
        // square root by Newton's method (no libm in the core).
        let ratio = upper / lower
        var root = ratio
        for _ in 0..<20 { root = (root + ratio / root) / 2 }
        return lower * root
    }
}

/// Exchanges counted by key ("METHOD /path" or "port N") and outcome, with both sides'
/// latencies: the summary printed at exit and on SIGUSR1. At most `keyLimit` keys: later ones
/// count under "(other)", so that memory stays bounded whatever the requests' paths.
public struct CompareSummary: Sendable {
    public static let defaultKeyLimit = 256
    public static let otherKey = "(other)"

    /// One key's counts and latencies.
    public struct Row: Equatable, Sendable {
        public var key: String
        public var exchanges: UInt64 = 0
        /// Indexed like `CompareOutcome.allCases`.
        public var outcomes = [UInt64](repeating: 0, count: CompareOutcome.allCases.count)
        public var online = LatencyHistogram()
        public var target = LatencyHistogram()

        public func count(_ outcome: CompareOutcome) -> UInt64 {
            outcomes[outcome.index]
        }
    }

    public let keyLimit: Int
    public let mode: CompareMode
    public private(set) var rows: [Row] = []
    private var rowIndex: [String: Int] = [:]
    /// The rows of keys given as bytes or a port (`Exchange.SummaryKey`), so that an exchange
    /// is counted without making its key's string; only keys with a row of their own.
    private var bytesIndex: [ArraySlice<UInt8>: Int] = [:]
    private var portIndex: [UInt16: Int] = [:]
    /// All keys together.
    public private(set) var total = Row(key: "all")

    public init(mode: CompareMode = .bytes, keyLimit: Int = defaultKeyLimit) {
        self.mode = mode
        self.keyLimit = keyLimit
    }

    /// Counts `exchange` and returns its outcome.
    @discardableResult
    public mutating func record(_ exchange: Exchange) -> CompareOutcome {
        let outcome = exchange.outcome(mode: mode)
        record(exchange, outcome: outcome)
        return outcome
    }

    /// Counts `exchange` under an outcome already decided (a log's record).
    public mutating func record(_ exchange: Exchange, outcome: CompareOutcome) {
        let index: Int
        switch exchange.summaryKey {
        case .bytes(let bytes):
            if let known = bytesIndex[bytes] {
                index = known
            } else {
                let key = String(decoding: bytes, as: UTF8.self)
                index = row(of: key)
                if rows[index].key == key { bytesIndex[ArraySlice(Array(bytes))] = index }
            }
        case .port(let port):
            if let known = portIndex[port] {
                index = known
            } else {
                let key = "port \(port)"
                index = row(of: key)
                if rows[index].key == key { portIndex[port] = index }
            }
        case .text(let key):
            index = row(of: key)
        }
        Self.add(exchange, outcome, to: &rows[index])
        Self.add(exchange, outcome, to: &total)
    }

    /// The row of `key`, made when new; the `otherKey` row once there are `keyLimit` rows.
    private mutating func row(of key: String) -> Int {
        if let existing = rowIndex[key] { return existing }
        let key = rows.count >= keyLimit ? Self.otherKey : key
        if let existing = rowIndex[key] { return existing }
        rows.append(Row(key: key))
        rowIndex[key] = rows.count - 1
        return rows.count - 1
    }

    private static func add(_ exchange: Exchange, _ outcome: CompareOutcome, to row: inout Row) {
        row.exchanges += 1
        row.outcomes[outcome.index] += 1
        if let latency = exchange.online.latencyMicroseconds { row.online.record(microseconds: latency) }
        if let latency = exchange.target.latencyMicroseconds { row.target.record(microseconds: latency) }
    }

    /// The summary as a text table: one line a key, the busiest first, then the total.
    public func table() -> String {
        let header = [
            "request", "exchanges", "same", "reset", "silent", "first-line", "length", "bytes",
            "online p50/p99 ms", "target p50/p99 ms",
        ]
        func cells(_ row: Row) -> [String] {
            func latency(_ histogram: LatencyHistogram) -> String {
                guard let p50 = histogram.percentile(0.5), let p99 = histogram.percentile(0.99) else { return "-" }
                return "\(Decimal3.milliseconds(p50))/\(Decimal3.milliseconds(p99))"
            }
            return [
                row.key, "\(row.exchanges)", "\(row.count(.same))", "\(row.count(.targetReset))",
                "\(row.count(.targetSilent))", "\(row.count(.firstLineDiffers))", "\(row.count(.lengthDiffers))",
                "\(row.count(.bytesDiffer))", latency(row.online), latency(row.target),
            ]
        }
        let lines = [header] + rows.sorted { $0.exchanges > $1.exchanges }.map(cells) + [cells(total)]
        let widths = header.indices.map { column in lines.map { $0[column].count }.max() ?? 0 }
        return lines.map { line in
            line.enumerated().map { column, cell in
                let pad = String(repeating: " ", count: widths[column] - cell.count)
                return column == 0 ? cell + pad : pad + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}

/// Fixed-point text for doubles: the core has no `String(format:)`.
enum Decimal3 {
    /// `value` with `places` decimals, rounded half up.
    static func text(_ value: Double, places: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let negative = value < 0
        let scaled = UInt64((abs(value) * scale).rounded())
        let whole = scaled / UInt64(scale)
        var text = "\(whole)"
        if places > 0 {
            let fraction = "\(scaled % UInt64(scale))"
            text += "." + String(repeating: "0", count: places - fraction.count) + fraction
        }
        return negative && scaled != 0 ? "-" + text : text
    }

    /// Microseconds as milliseconds with three significant-ish decimals.
    static func milliseconds(_ microseconds: Double) -> String {
        text(microseconds / 1000, places: microseconds < 10_000 ? 3 : microseconds < 100_000 ? 2 : 1)
    }
}
