/// tcpcopy's whole stats line: the engine's counters, then what only the daemon sees (the
/// capture, the sink, the control links, memory). The daemon adds to its own fields as things
/// happen and copies the rest in (the engine's counters, the levels, the kernel's counts) when
/// the line is rendered.
public struct TCPCopyDaemonCounters: Sendable, Equatable, MetricSet {
    public var engine = TCPCopyCounters()
    public var capture = CaptureCounters()
    /// With `--compare` only.
    public var compare: CompareCounters?
    public var sessionsLive = 0
    public var packetsSent = 0
    public var funnel = TrafficFunnel()
    public var sendErrors: [String: Int] = [:]
    /// With `-o` only.
    public var linkLayerSink: LinkLayerSinkCounters?
    public var controlBacklogDropped = 0
    public var controlBytesOut = 0
    public var controlBytesIn = 0
    public var controlLinkFailures = 0
    public var controlLinksCorrupt = 0
    public var controlLinksDown = 0
    public var registrationsWithoutLink = 0
    public var registrationsReplayed = 0
    /// Registrations intercept refused, by reason: their sessions get no responses.
    public var registrationsRefused: [RegistrationRefusal: Int] = [:]
    public var memorySessionLimit = 0
    public var bufferedKB = 0
    public var rssKB = 0
    public var rssPeakKB = 0

    public init() {}

    public static let metrics: [MetricDeclaration<Self>] = [
        .nested(\.engine),
        .nested(\.capture),
        .nested(\.compare),
        .gauge("sessions_live", \.sessionsLive, "Sessions in the table now"),
        .counter("packets_sent", \.packetsSent, "Packets sent to the targets"),
        .nested(\.funnel),
        .family(
            "send_error", \.sendErrors, label: "ERRNO", total: "send_errors",
            "Copies the kernel refused to send, by errno: the packet is lost"),
        .nested(\.linkLayerSink),
        .counter(
            "control_backlog_dropped", \.controlBacklogDropped,
            "Control messages dropped because a link's output buffer was full"),
        .counter(
            "control_bytes_out", \.controlBytesOut, "Bytes written to the control links, closed ones included"),
        .counter("control_bytes_in", \.controlBytesIn, "Bytes read from the control links, closed ones included"),
        .counter("control_link_failures", \.controlLinkFailures, "Control links lost"),
        .counter(
            "control_links_corrupt", \.controlLinksCorrupt,
            "Control links dropped because intercept's stream could not be decoded (garbage, another version): counted in control_link_failures too"
        ),
        .gauge("control_links_down", \.controlLinksDown, "Targets whose control link is being reconnected now"),
        .counter(
            "registrations_without_link", \.registrationsWithoutLink,
            "Sessions started while their intercept was unreachable"),
        .counter(
            "registrations_replayed", \.registrationsReplayed,
            "Registrations sent again once a lost control link was back"),
        .counter(
            "registrations_refused", \.registrationsRefusedTotal,
            "Registrations intercept refused: their sessions get no responses"),
        .counter(
            "registrations_refused_owned", \.registrationsRefusedOwned,
            "Registrations intercept refused because another control connection owns the session"),
        .counter(
            "registrations_refused_cap", \.registrationsRefusedCap,
            "Registrations intercept refused because of a route cap"),
        .counter("memory_full", \.engine.memoryFull, "New sessions refused by the memory cap -m"),
        .gauge(
            "memory_session_limit", \.memorySessionLimit, "The live-session limit -m imposes now (0: none)"),
        .gauge(
            "buffered_kb", \.bufferedKB,
            "Client bytes all sessions hold now (queued for the target, or sent and not acknowledged), in KiB"),
        .gauge("rss_kb", \.rssKB, "Resident memory now, in KiB"),
        .gauge("rss_peak_kb", \.rssPeakKB, "Resident memory at its peak, in KiB"),
    ]
}

extension TCPCopyDaemonCounters {
    var registrationsRefusedTotal: Int { registrationsRefused.values.reduce(0, +) }
    var registrationsRefusedOwned: Int { registrationsRefused[.ownedByAnother, default: 0] }
    var registrationsRefusedCap: Int {
        registrationsRefused[.connectionCap, default: 0] + registrationsRefused[.totalCap, default: 0]
    }
}
