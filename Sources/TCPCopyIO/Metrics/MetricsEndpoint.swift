import CTCPCopyShims
import CoreMetrics
import Glibc
import Metrics
import Prometheus
import TCPCopyCore

/// `--metrics-listen`: serves `GET /metrics` in the Prometheus text format from the daemon's own
/// event loop. The listener and its scrape connections live in an epoll of their own, whose one
/// descriptor the daemon adds to its loop: a scrape costs the loop one `serve` call, and no
/// thread is added. The counters are the stats line's (each daemon's `MetricSet`, with its help
/// text), synchronised at each scrape; the histograms (response latency, session duration) are recorded through
/// swift-metrics' `Timer` as events happen.
public final class MetricsEndpoint {
    /// The descriptor to add to the daemon's loop (readable when a scrape needs attention).
    public var descriptor: Int32 { epoll.rawValue }
    public let listenAddress: MetricsListenAddress

    private let program: String
    private let listener: FileDescriptor
    private let epoll: FileDescriptor
    private let registry: PrometheusCollectorRegistry
    private var counters: [String: (Prometheus.Counter, Int)] = [:]
    private var gauges: [String: Prometheus.Gauge] = [:]
    private var scrapes: [Int32: Scrape] = [:]
    private var responseLatency: Metrics.Timer?
    private var sessionDuration: Metrics.Timer?
    /// `--compare`: each side's latency, request → first answer byte (`side` online, target).
    private lazy var answerLatencies = (
        online: Metrics.Timer(label: "\(program)_answer_latency_seconds", dimensions: [("side", "online")]),
        target: Metrics.Timer(label: "\(program)_answer_latency_seconds", dimensions: [("side", "target")])
    )
    /// `--compare`: the exchanges by outcome and service port, a family each, labelled `port`
    /// (the stats line holds their totals, which `render` leaves out of the registry: a family
    /// cannot be both labelled and not). Indexed like `CompareOutcome.counterNames`.
    private var compareCounters: [UInt16: [Metrics.Counter]] = [:]
    private lazy var compareFamilies = Set(CompareOutcome.counterNames.map { "\(program)_\($0)_total" })
    private var latencies = SessionTimings<RouteKey>()
    private var durations = SessionSpans<RouteKey>()
    private static let listenerToken: UInt64 = UInt64.max
    private static let maximumScrapes = 16
    /// How long a connection may take to send its whole request.
    private static let requestMilliseconds: Int64 = 1000

    private final class Scrape {
        let descriptor: FileDescriptor
        var request: [UInt8] = []
        var response: [UInt8] = []
        var sent = 0
        let openedAt: MonotonicTime
        init(descriptor: FileDescriptor, openedAt: MonotonicTime) {
            self.descriptor = descriptor
            self.openedAt = openedAt
        }
    }

    /// Listens on `address` (TCP, non-blocking). Errors say what to change.
    public init(listen address: MetricsListenAddress, program: String) throws(SystemCallError) {
        self.program = program
        listenAddress = address
        let fd = FileDescriptor(
            try systemCall("socket(metrics)") {
                socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            })
        try setSocketOption(fd.rawValue, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR")
        let local = socketAddress(address.address?.value ?? 0, port: address.port)
        try systemCall("bind(metrics \(address))") { withSocketAddress(local) { bind(fd.rawValue, $0, $1) } }
        try systemCall("listen(metrics)") { listen(fd.rawValue, 16) }
        try setNonBlocking(fd.rawValue)
        listener = fd
        let poller = FileDescriptor(try systemCall("epoll_create1(metrics)") { epoll_create1(Int32(EPOLL_CLOEXEC)) })
        try systemCall("epoll_ctl(metrics)") {
            CTCPCopyShims_epoll_ctl(poller.rawValue, EPOLL_CTL_ADD, fd.rawValue, EPOLLIN.rawValue, UInt64.max)
        }
        epoll = poller
        registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        let milliseconds: [Duration] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000].map {
            .milliseconds($0)
        }
        let seconds: [Duration] = [0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600].map {
            .milliseconds(Int64($0 * 1000))
        }
        factory.durationHistogramBuckets = [
            "\(program)_response_latency_seconds": milliseconds, "\(program)_session_duration_seconds": seconds,
            "\(program)_answer_latency_seconds": [.microseconds(100), .microseconds(250), .microseconds(500)]
                + milliseconds,
        ]
        MetricsSystem.bootstrap(factory)
        if program == "tcpcopy" {
            responseLatency = Metrics.Timer(label: "\(program)_response_latency_seconds")
            sessionDuration = Metrics.Timer(label: "\(program)_session_duration_seconds")
        }
    }

    // MARK: - Events (tcpcopy)

    /// A session was registered with intercept: its duration starts.
    public func sessionStarted(_ key: RouteKey) { durations.start(key, at: monotonicNow()) }

    /// A session ended (unregistered, after it lingered): its span to its last packet is recorded.
    public func sessionEnded(_ key: RouteKey) {
        latencies.forget(key)
        if let milliseconds = durations.finish(key) {
            sessionDuration?.recordMilliseconds(milliseconds)
        }
    }

    /// A segment went to the target: one carrying data starts the response latency of its session
    /// (unless a request is already waiting for its answer).
    public func sent(_ segment: OutgoingSegment) {
        let key = RouteKey(
            clientAddress: segment.source, clientPort: segment.sourcePort, targetAddress: segment.destination,
            targetPort: segment.destinationPort)
        let now = monotonicNow()
        durations.touch(key, at: now)
        guard !segment.payload.isEmpty else { return }
        latencies.start(key, at: now)
    }

    /// A response header came from intercept: the first one with data answers the waiting request.
    public func responded(_ packet: TCPPacket) {
        let key = RouteKey(response: packet)
        let now = monotonicNow()
        durations.touch(key, at: now)
        guard packet.payloadLength > 0 else { return }
        if let milliseconds = latencies.finish(key, at: now) {
            responseLatency?.recordMilliseconds(milliseconds)
        }
    }

    /// A compared exchange closed (`--compare`): both sides' latencies, when they answered.
    public func answerLatency(online: UInt64?, target: UInt64?) {
        if let online { answerLatencies.online.recordMicroseconds(online) }
        if let target { answerLatencies.target.recordMicroseconds(target) }
    }

    /// A compared exchange closed under `outcome` on service port `port` (`--compare`).
    public func compared(_ outcome: CompareOutcome, port: UInt16) {
        let counters = compareCounters(port: port)
        counters[0].increment()
        counters[1 + outcome.index].increment()
    }

    /// Makes the compare counters of `port` (at zero until counted), so a scrape shows them from
    /// the start.
    @discardableResult
    public func compareCounters(port: UInt16) -> [Metrics.Counter] {
        if let made = compareCounters[port] { return made }
        let made = CompareOutcome.counterNames.map {
            Metrics.Counter(label: "\(program)_\($0)_total", dimensions: [("port", "\(port)")])
        }
        compareCounters[port] = made
        return made
    }

    // MARK: - Serving

    /// Accepts, reads and answers what is ready; `values` gives the daemon's counters now,
    /// asked only when a scrape is answered.
    public func serve(values: () -> [MetricValue]) {
        var tokens = [UInt64](repeating: 0, count: 32)
        var events = [UInt32](repeating: 0, count: 32)
        let count = CTCPCopyShims_epoll_wait(epoll.rawValue, &tokens, &events, 32, 0)
        guard count > 0 else { return }
        for index in 0..<Int(count) {
            if tokens[index] == Self.listenerToken {
                acceptScrapes()
            } else {
                advance(Int32(truncatingIfNeeded: tokens[index]), values: values)
            }
        }
        dropStale()
    }

    private func acceptScrapes() {
        while true {
            let listening = listener.rawValue
            guard case .done(let fd)? = try? nonBlocking("accept(metrics)", { accept(listening, nil, nil) }) else {
                return
            }
            let descriptor = FileDescriptor(fd)
            guard (try? systemCall("fcntl(F_SETFD)", { fcntl(fd, F_SETFD, FD_CLOEXEC) })) != nil,
                (try? setNonBlocking(fd)) != nil
            else { continue }
            if scrapes.count >= Self.maximumScrapes, !evictOldestIdle() { continue }  // closed as it goes
            let mask = EPOLLIN.rawValue | EPOLLRDHUP.rawValue
            guard CTCPCopyShims_epoll_ctl(epoll.rawValue, EPOLL_CTL_ADD, fd, mask, UInt64(fd)) == 0 else { continue }
            scrapes[fd] = Scrape(descriptor: descriptor, openedAt: monotonicNow())
        }
    }

    private func advance(_ fd: Int32, values: () -> [MetricValue]) {
        guard let scrape = scrapes[fd] else { return }
        if scrape.response.isEmpty {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let received = try? nonBlocking("recv(metrics)") {
                buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            }
            switch received {
            case .done(let n)? where n > 0: scrape.request += buffer[0..<n]
            case .wouldBlock?: break
            default: return close(fd)  // the scraper closed, or an error
            }
            switch MetricsHTTP.parse(scrape.request) {
            case .incomplete:
                return
            case .unsupported:
                scrape.response = MetricsHTTP.response(
                    status: 400, contentType: "text/plain", body: Array("GET /metrics\n".utf8))
            case .get(let path) where path == "/metrics":
                scrape.response = MetricsHTTP.response(
                    status: 200, contentType: MetricsHTTP.prometheusContentType, body: render(values()))
            case .get:
                scrape.response = MetricsHTTP.response(
                    status: 404, contentType: "text/plain", body: Array("metrics are at /metrics\n".utf8))
            }
            let mask = EPOLLOUT.rawValue | EPOLLRDHUP.rawValue
            _ = CTCPCopyShims_epoll_ctl(epoll.rawValue, EPOLL_CTL_MOD, fd, mask, UInt64(fd))
        }
        while scrape.sent < scrape.response.count {
            let result = try? nonBlocking("send(metrics)") {
                scrape.response[scrape.sent...].withUnsafeBytes {
                    Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
            }
            guard let result, case .done(let n) = result else {
                if case .wouldBlock? = result { return }
                break
            }
            if n <= 0 { break }
            scrape.sent += n
        }
        close(fd)
    }

    /// A scraper sends its request as soon as it connects: one that has not within 1 s, or
    /// that stalls for 10 s reading the answer, is dropped, so idle connections cannot hold
    /// every slot. The daemons call this on their tick too: idle connections make no event.
    public func reap() {
        let now = monotonicNow()
        for (fd, scrape) in scrapes
        where now - scrape.openedAt > (scrape.response.isEmpty ? Self.requestMilliseconds : 10_000) {
            close(fd)
        }
    }

    private func dropStale() { reap() }

    /// All slots taken: the longest-waiting connection that has not sent a whole request yet
    /// makes room for the new one (false when every slot is being answered).
    private func evictOldestIdle() -> Bool {
        let idle = scrapes.filter { $0.value.response.isEmpty }
        guard let oldest = idle.min(by: { $0.value.openedAt < $1.value.openedAt }) else { return false }
        close(oldest.key)
        return true
    }

    private func close(_ fd: Int32) {
        _ = CTCPCopyShims_epoll_ctl(epoll.rawValue, EPOLL_CTL_DEL, fd, 0, 0)
        scrapes[fd] = nil  // the descriptor closes with its owner
    }

    /// The stats line's values into the registry (counters by their increase since the last
    /// scrape, each with its declared help text), then the whole registry in the text format.
    /// The compare outcomes are left out: they are served by port (`compared(_:port:)`), and a
    /// family cannot be both labelled and not.
    private func render(_ values: [MetricValue]) -> [UInt8] {
        for value in values {
            let name = value.prometheusName(program: program)
            if compareFamilies.contains(name) { continue }
            let descriptor = MetricNameDescriptor(metricName: name, unitName: "", helpText: value.help)
            switch value.kind {
            case .gauge:
                let gauge = gauges[name] ?? registry.makeGauge(descriptor: descriptor)
                gauges[name] = gauge
                gauge.set(Int64(value.value))
            case .counter:
                let (counter, last) = counters[name] ?? (registry.makeCounter(descriptor: descriptor), 0)
                if value.value > last { counter.increment(by: Int64(value.value - last)) }
                counters[name] = (counter, max(last, value.value))
            }
        }
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }
}
