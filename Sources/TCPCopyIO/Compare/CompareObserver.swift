import Glibc
import Logging
import TCPCopyCore

/// `tcpcopy --compare`: a source of answer observations beside the copying, fed to the pure
/// `ExchangeTracker`. It owns the link-layer capture of the service ports in both directions
/// (the clients' requests and the online server's answers, on one clock: libpcap's), or is fed
/// a replayed file's packets; it learns the copies from the daemon (registered, sent, ended)
/// and the target's answers from intercept's `answer_piece`s. Closed exchanges go to the
/// counters, the summary, the Prometheus histograms and the log.
final class CompareObserver {
    private struct Capture {
        let pcap: PcapHandle
        let linkType: LinkType
    }

    let settings: CompareSettings
    private var tracker: ExchangeTracker
    private(set) var summary: CompareSummary
    private var counts = [Int](repeating: 0, count: CompareOutcome.allCases.count)
    private var exchanges = 0
    private var logged = 0
    private var logFailures = 0
    private var piecesReceived = 0
    private var copiesCompared = 0
    private var copiesWithoutConnection = 0
    private let captures: [Capture]
    let descriptors: [Int32]
    private let servicePorts: Set<UInt16>
    private var log: UnsafeMutablePointer<FILE>?
    private var closed: [Exchange] = []
    /// The latest capture timestamp seen (the online side's clock), in microseconds.
    private var onlineNow: Int64?
    private let logger: Logger
    /// intercept's clock offset, by intercept (the link's address).
    private var clocks: [IPAddress: ClockOffsetEstimator] = [:]
    private var lastClockProbe: Int64 = 0
    /// Often enough that the 16 round trips of the estimate span a few seconds.
    static let clockProbeMicroseconds: Int64 = 500_000
    /// The Prometheus endpoint; its compare counters by port are made at once, at zero.
    weak var metrics: MetricsEndpoint? {
        didSet { for port in servicePorts.sorted() { metrics?.compareCounters(port: port) } }
    }

    /// With a live capture (`live`), opens the link-layer capture of the routes' service ports:
    /// on the `-i` interfaces, or on every interface (`any`) with the raw socket.
    init(settings: CompareSettings, configuration: TCPCopyConfiguration, live: Bool, logger: Logger) throws {
        self.settings = settings
        self.logger = logger
        tracker = ExchangeTracker(maskedHeaders: settings.maskedHeaders)
        summary = CompareSummary(mode: settings.mode)
        servicePorts = Set(configuration.routes.map(\.onlinePort))
        var captures: [Capture] = []
        if live {
            let devices: [String] =
                if case .link(let link) = configuration.capture { link.interfaces } else { ["any"] }
            let filter = Self.filter(routes: configuration.routes)
            for device in devices {
                let pcap = try PcapHandle.live(
                    device: device, bufferBytes: Self.ringBytes(captureBufferMB: configuration.captureBufferMB),
                    inboundOnly: false, blockTimeoutMilliseconds: Self.blockTimeoutMilliseconds
                ) { _ in filter }
                guard let linkType = LinkType(dataLinkType: pcap.dataLinkType) else {
                    throw PcapError("--compare cannot capture on \(device): link type \(pcap.dataLinkType)")
                }
                captures.append(Capture(pcap: pcap, linkType: linkType))
            }
            logger.info(
                "--compare: capturing the service ports' requests and answers",
                metadata: ["interfaces": "\(devices.joined(separator: ","))", "filter": "\(filter)"])
        }
        self.captures = captures
        descriptors = captures.map(\.pcap.selectableDescriptor)
        if let path = settings.logPath {
            guard let file = fopen(path, "a") else {
                throw PcapError("--compare-log \(path): \(String(cString: strerror(errno)))")
            }
            log = file
        }
    }

    deinit { if let log { fclose(log) } }

    /// Requests arriving at the service ports and answers leaving them; never the copies
    /// tcpcopy sends (they leave towards the targets' ports from the clients' ports), nor bare
    /// ACKs (nothing of an exchange is in them: only data, SYN, FIN and RST segments are kept,
    /// about half of the packets of a short connection).
    static func filter(routes: [CopyRoute]) -> String {
        let ports = Array(Set(routes.map(\.onlinePort))).sorted()
        let clauses = ports.map { "(inbound and dst port \($0)) or (outbound and src port \($0))" }
        let targets = Array(Set(routes.map { "\($0.targetAddress)" })).sorted()
        // libpcap reads `tcp[...]` of IPv4 only: IPv6's test reads the TCP header right after the
        // fixed one (flags at 53, data offset at 52) and keeps anything with extension headers.
        let notBareAck4 =
            "(tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst) != 0 or ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2) != 0)"
        let notBareAck6 =
            "(ip6[6] != 6 or ip6[53] & 0x07 != 0 or ip6[4:2] - ((ip6[52] & 0xf0) >> 2) != 0)"
        let notBareAck = "((ip and \(notBareAck4)) or (ip6 and \(notBareAck6)))"
        return
            "tcp and (\(clauses.joined(separator: " or "))) and not dst host \(targets.joined(separator: " and not dst host ")) and \(notBareAck)"
    }

    /// How long the kernel fills a block of the comparison's ring before handing it over when
    /// traffic is light. Nothing of a comparison is in a hurry (exchanges close half a second
    /// after their copies end), and a block handed over after 1 ms holds a few packets in a
    /// block of 256 KiB: the ring then holds a quarter of a second whatever its size, and a
    /// tcpcopy kept off the CPU that long (a busy host) lost packets of it. Fuller blocks also
    /// wake the loop less often.
    static let blockTimeoutMilliseconds: Int32 = 20

    /// The comparison's ring: it holds fewer packets than the copying's (no bare ACKs, blocks
    /// handed over fuller), so a quarter of `--capture-buffer` (at least 8 MiB) is room enough,
    /// and its pages are not all touched (resident) for nothing.
    static func ringBytes(captureBufferMB: Int) -> Int32 {
        Int32(max(8, captureBufferMB / 4)) << 20
    }

    /// Reads what the captures hold; true when it stopped at its limit.
    func readCaptures(limit: Int = 1024) throws -> Bool {
        var behind = false
        for capture in captures {
            var handled = 0
            while handled < limit {
                let count = try capture.pcap.dispatch(limit: 64) { frame, length, timestamp in
                    guard frame.count >= length else { return }
                    switch LinkLayerDecoder.decode(frame, linkType: capture.linkType) {
                    case .ipv4(let range, _), .ipv6(let range, _):
                        observe(UnsafeRawBufferPointer(rebasing: frame[range]), timestamp: timestamp)
                    default:
                        return
                    }
                }
                handled += count
                if count < 64 { break }
            }
            if handled >= limit { behind = true }
        }
        return behind
    }

    /// One IP packet of a connection to a service port, either direction, on the capture's clock.
    func observe(_ bytes: UnsafeRawBufferPointer, timestamp: CaptureTimestamp) {
        guard case .success(let packet) = TCPPacket.parse(bytes, requirePayload: true, readOptions: false) else {
            return
        }
        let microseconds = timestamp.nanoseconds / 1000
        onlineNow = max(onlineNow ?? microseconds, microseconds)
        let payload = UnsafeRawBufferPointer(
            rebasing: bytes[packet.headerLength..<min(bytes.count, packet.headerLength + packet.payloadLength)])
        if servicePorts.contains(packet.destinationPort) {
            tracker.client(
                CompareConnection(
                    clientAddress: packet.source, clientPort: packet.sourcePort, servicePort: packet.destinationPort),
                sequence: packet.sequence.rawValue, acknowledgment: packet.acknowledgment.rawValue, flags: packet.flags,
                payload: payload, microseconds: microseconds)
        } else if servicePorts.contains(packet.sourcePort) {
            tracker.server(
                CompareConnection(
                    clientAddress: packet.destination, clientPort: packet.destinationPort,
                    servicePort: packet.sourcePort),
                sequence: packet.sequence.rawValue, acknowledgment: packet.acknowledgment.rawValue, flags: packet.flags,
                payload: payload, microseconds: microseconds)
        }
    }

    // MARK: the copies (from the daemon)

    /// A copy was registered with intercept; true when it is compared (send `compare` then).
    func copyRegistered(_ key: RouteKey, of connection: CompareConnection?) -> Bool {
        guard let connection, tracker.copyStarted(key, of: connection) else {
            copiesWithoutConnection += 1
            return false
        }
        copiesCompared += 1
        return true
    }

    func copySent(_ segment: OutgoingSegment) {
        // Only a SYN (the copied ISN) and data (a request's sending time) matter.
        guard !segment.payload.isEmpty || segment.flags.contains(.syn) else { return }
        tracker.sentToTarget(
            RouteKey(
                clientAddress: segment.source, clientPort: segment.sourcePort, targetAddress: segment.destination,
                targetPort: segment.destinationPort),
            sequence: segment.sequence.rawValue, flags: segment.flags, payloadLength: segment.payload.count,
            microseconds: monotonicMicroseconds())
    }

    func copyEnded(_ key: RouteKey) { tracker.copyEnded(key, microseconds: monotonicMicroseconds()) }

    /// A piece of a target's answer from the intercept at `intercept`. Its time, for the
    /// target's latency, is intercept's stamp mapped onto tcpcopy's clock less the one-way delay
    /// to the target (`ClockOffsetEstimator`), so the control link's delay and both daemons'
    /// batching are left out; before the first clock round trip, its arrival here.
    func answered(_ piece: AnswerPiece, via intercept: IPAddress) {
        piecesReceived += 1
        let time =
            clocks[intercept]?.requestTime(forAnswerStamp: Int64(clamping: piece.stampMicroseconds))
            ?? monotonicMicroseconds()
        tracker.targetAnswered(piece, microseconds: time)
    }

    // MARK: intercept's clocks

    /// Sends a `clockProbe` on each link every `clockProbeMicroseconds`.
    func probeClocks(_ links: InterceptLinks<IPAddress>) {
        let now = monotonicMicroseconds()
        guard now - lastClockProbe >= Self.clockProbeMicroseconds else { return }
        lastClockProbe = now
        for target in links.targets {
            _ = links.send(.clockProbe(sentMicroseconds: UInt64(now)), to: target)
        }
    }

    /// intercept at `intercept` echoed a probe sent at `sent` (tcpcopy's clock) with its `stamp`.
    func clockEchoed(sent: UInt64, stamp: UInt64, from intercept: IPAddress) {
        let first = clocks[intercept] == nil
        clocks[intercept, default: ClockOffsetEstimator()].record(
            sent: Int64(clamping: sent), stamp: Int64(clamping: stamp), received: monotonicMicroseconds())
        if first, let estimate = clocks[intercept]?.estimate {
            logger.info(
                "--compare: intercept's clock mapped",
                metadata: [
                    "intercept": "\(intercept)", "offset_us": "\(estimate.offsetMicroseconds)",
                    "round_trip_us": "\(estimate.roundTripMicroseconds)",
                ])
        }
    }

    /// The current estimate of intercept's clock offset, for the log.
    func clockEstimate(of intercept: IPAddress) -> ClockOffsetEstimator.Sample? { clocks[intercept]?.estimate }

    // MARK: closing exchanges

    /// Closes the settled exchanges (every open one with `all`, at exit).
    func collect(all: Bool = false) {
        tracker.collect(
            now: all ? Int64.max : monotonicMicroseconds(), onlineNow: all ? Int64.max : onlineNow, into: &closed)
        guard !closed.isEmpty else { return }
        for exchange in closed {
            let outcome = summary.record(exchange)
            exchanges += 1
            counts[outcome.index] += 1
            metrics?.answerLatency(
                online: exchange.online.latencyMicroseconds, target: exchange.target.latencyMicroseconds)
            metrics?.compared(outcome, port: exchange.port)
            if let log, outcome != .same || settings.logAll {
                let line = CompareLogCodec.encode(CompareLogRecord(exchange: exchange, outcome: outcome)) + "\n"
                if fputs(line, log) < 0 { logFailures += 1 } else { logged += 1 }
            }
        }
        closed.removeAll(keepingCapacity: true)
        if let log { fflush(log) }
    }

    /// The stats line's figures (`CompareCounters`).
    var counters: CompareCounters {
        var counters = CompareCounters()
        counters.exchanges = exchanges
        for (index, outcome) in CompareOutcome.allCases.enumerated() { counters.outcomes[outcome] = counts[index] }
        counters.sessions = copiesCompared
        counters.sessionsUntracked = copiesWithoutConnection
        counters.answerPieces = piecesReceived
        counters.logged = logged
        counters.logErrors = logFailures
        counters.captureDropped = captures.reduce(0) { $0 + $1.pcap.kernelDropped }
        return counters
    }

    /// The summary table, a line per request key (`CompareSummary.table`).
    func table() -> String { summary.table() }
}
