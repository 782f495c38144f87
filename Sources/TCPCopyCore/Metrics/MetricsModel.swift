/// What the daemons' `--metrics-listen` endpoint serves, decided without I/O: a logged stats
/// line read back as Prometheus samples, the timings behind the two histograms, and the little
/// HTTP it speaks.

/// One value of a daemon's stats line, named for Prometheus.
public struct MetricSample: Hashable, Sendable {
    public typealias Kind = MetricKind

    /// `tcpcopy_sessions_started_total`, `intercept_routes`, ...
    public var name: String
    public var value: Int
    public var kind: Kind

    public init(name: String, value: Int, kind: Kind) {
        self.name = name
        self.value = value
        self.kind = kind
    }
}

/// A stats line as logged (`key=value ...`) read back as metrics, for tools that have only the
/// log. The daemons' endpoint does not parse: it renders the declarations (`MetricSet`).
public enum StatsLineMetrics {
    /// Keys that go up and down: the gauges the daemons declare.
    public static let gauges: Set<String> = Set(
        (TCPCopyDaemonCounters().metricValues + InterceptDaemonCounters().metricValues).filter { $0.kind == .gauge }
            .map(\.key))

    public static func samples(statsLine: String, program: String) -> [MetricSample] {
        statsLine.split(separator: " ").compactMap { word in
            let parts = word.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let value = Int(parts[1]) else { return nil }
            let key = MetricValue.sanitized(parts[0])
            guard !key.isEmpty else { return nil }
            let kind: MetricKind = gauges.contains(key) ? .gauge : .counter
            let name = MetricValue(key: key, value: value, kind: kind, help: "").prometheusName(program: program)
            return MetricSample(name: name, value: value, kind: kind)
        }
    }
}

/// Times from an event to a later one of the same session (response latency: first request
/// segment sent → first response data; session duration: registration → unregistration).
/// Bounded: beyond `capacity` open timings, new starts are not timed.
public struct SessionTimings<Key: Hashable & Sendable>: Sendable {
    private var started: [Key: MonotonicTime] = [:]
    public let capacity: Int

    public init(capacity: Int = 1 << 18) { self.capacity = capacity }

    public var openCount: Int { started.count }

    /// Starts timing `key` unless it is timed already (the first event counts).
    public mutating func start(_ key: Key, at now: MonotonicTime) {
        guard started.count < capacity, started[key] == nil else { return }
        started[key] = now
    }

    /// Milliseconds since `key` started, and stops timing it; nil if it was not timed.
    public mutating func finish(_ key: Key, at now: MonotonicTime) -> Int64? {
        guard let start = started.removeValue(forKey: key) else { return nil }
        return max(0, now - start)
    }

    public mutating func forget(_ key: Key) { started[key] = nil }
}

/// The span of each session from its first event to its latest one (session duration: from
/// registration to the last packet either way, so that the time a finished session lingers
/// before it is unregistered does not count). Bounded like `SessionTimings`.
public struct SessionSpans<Key: Hashable & Sendable>: Sendable {
    private var spans: [Key: (first: MonotonicTime, last: MonotonicTime)] = [:]
    public let capacity: Int

    public init(capacity: Int = 1 << 18) { self.capacity = capacity }

    public var openCount: Int { spans.count }

    public mutating func start(_ key: Key, at now: MonotonicTime) {
        guard spans.count < capacity, spans[key] == nil else { return }
        spans[key] = (now, now)
    }

    /// Something happened in `key`'s session (a packet either way).
    public mutating func touch(_ key: Key, at now: MonotonicTime) {
        spans[key]?.last = now
    }

    /// Milliseconds from the first to the latest event, and forgets `key`; nil if not tracked.
    public mutating func finish(_ key: Key) -> Int64? {
        guard let span = spans.removeValue(forKey: key) else { return nil }
        return max(0, span.last - span.first)
    }
}

/// The HTTP a scraper speaks: a GET request, read until its blank line, and one response.
public enum MetricsHTTP {
    public enum Request: Equatable, Sendable {
        /// The request's head is not complete yet.
        case incomplete
        case get(path: String)
        /// Not a request we serve (another method, garbage, or a head over 8 KiB).
        case unsupported
    }

    public static let maximumHeadLength = 8192

    public static func parse(_ bytes: [UInt8]) -> Request {
        let end: [UInt8] = Array("\r\n\r\n".utf8)
        guard let headEnd = firstIndex(of: end, in: bytes) else {
            return bytes.count > maximumHeadLength ? .unsupported : .incomplete
        }
        let head = String(decoding: bytes[..<headEnd], as: UTF8.self)
        let words = head.split(separator: "\r\n").first?.split(separator: " ") ?? []
        guard words.count == 3, words[0] == "GET" || words[0] == "HEAD", words[2].hasPrefix("HTTP/1.") else {
            return .unsupported
        }
        let path = words[1].split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
        return .get(path: path)
    }

    /// A whole response; the connection closes after it.
    public static func response(status: Int, contentType: String, body: [UInt8]) -> [UInt8] {
        let reason =
            switch status {
            case 200: "OK"
            case 404: "Not Found"
            default: "Bad Request"
            }
        let head =
            "HTTP/1.1 \(status) \(reason)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\n"
            + "Connection: close\r\n\r\n"
        return Array(head.utf8) + body
    }

    /// The Prometheus text format's content type.
    public static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

    private static func firstIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if Array(haystack[start..<(start + needle.count)]) == needle { return start }
        }
        return nil
    }
}

/// `--metrics-listen ADDRESS:PORT` (or `:PORT` for every address).
public struct MetricsListenAddress: Hashable, Sendable, CustomStringConvertible {
    public var address: IPv4Address?
    public var port: UInt16

    public init(address: IPv4Address?, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// Parses `ADDRESS:PORT` or `:PORT`; nil when there is no `:` at all, and a
    /// `ConfigurationError` naming the bad part otherwise.
    public static func parse(_ text: String) throws(ConfigurationError) -> MetricsListenAddress? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        let host = text[..<colon]
        let port = try ConfigurationParser.port(text[text.index(after: colon)...])
        let address = host.isEmpty ? nil : try ConfigurationParser.ipv4Address(host)
        return MetricsListenAddress(address: address, port: port)
    }

    public var description: String { "\(address.map(\.description) ?? ""):\(port)" }
}
