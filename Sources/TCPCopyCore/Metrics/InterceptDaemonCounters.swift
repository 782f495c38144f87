/// intercept's whole stats line: the engine's counters, then what only the daemon sees (the
/// control connections, the netlink socket, the kernel's own counts for the queue), copied in
/// when the line is rendered.
public struct InterceptDaemonCounters: Sendable, Equatable, MetricSet {
    public var engine = InterceptCounters()
    public var controlBytesIn = 0
    public var controlBytesOut = 0
    public var routes = 0
    public var connectionsOpen = 0
    public var queueOverruns = 0
    public var netlinkErrors = 0
    public var netlinkMalformed = 0
    /// 1 while the NFQUEUE rule is known to be missing.
    public var ruleMissing = 0
    public var rulePresent = 1
    public var ruleMissingChecks = 0
    public var ruleReinstalled = 0
    /// With an IPv6 rule to watch only.
    public var ipv6Rule: IPv6RuleCounters?
    public var acceptErrors: [String: Int] = [:]
    public var verdictWriteErrors = 0
    /// With `--compare` only.
    public var answers: AnswerReportCounters?
    public var kernelQueueDropped = 0
    public var kernelUserDropped = 0

    public init() {}

    public static let metrics: [MetricDeclaration<Self>] = [
        .nested(\.engine),
        .counter(
            "control_bytes_in", \.controlBytesIn, "Bytes read from the control connections, closed ones included"),
        .counter(
            "control_bytes_out", \.controlBytesOut, "Bytes written to the control connections, closed ones included"),
        .gauge("routes", \.routes, "Routes (registered sessions) held now"),
        .gauge("connections_open", \.connectionsOpen, "Control connections open now"),
        .counter(
            "queue_overruns", \.queueOverruns,
            "Netlink ENOBUFS: the kernel dropped packets it could not queue to intercept"),
        .counter(
            "netlink_errors", \.netlinkErrors,
            "Error reports from the kernel (e.g. a verdict for a packet id it no longer holds)"),
        .counter(
            "netlink_malformed", \.netlinkMalformed,
            "Netlink messages that could not be used (malformed, cut short, or not from the kernel)"),
        .gauge(
            "rule_missing", \.ruleMissing,
            "1 while the NFQUEUE rule is missing: the target's responses reach the real clients"),
        .gauge("rule_present", \.rulePresent, "1 while the NFQUEUE rule is in place (or not checked)"),
        .counter("rule_missing_checks", \.ruleMissingChecks, "Rule checks that found the NFQUEUE rule missing"),
        .counter("rule_reinstalled", \.ruleReinstalled, "Times intercept put its own NFQUEUE rule back"),
        .nested(\.ipv6Rule),
        .family(
            "accept_error", \.acceptErrors, label: "ERRNO", total: "accept_errors",
            "Control connections the kernel could not hand over (out of descriptors or memory), by errno: intercept goes on"
        ),
        .counter(
            "verdict_write_errors", \.verdictWriteErrors,
            "Verdicts the kernel would not take for lack of buffers, after one retry (those packets stay dropped)"),
        .nested(\.answers),
        .counter(
            "kernel_queue_dropped", \.kernelQueueDropped,
            "The kernel's count of packets dropped at intercept's full queue (/proc/net/netfilter/nfnetlink_queue)"),
        .counter(
            "kernel_user_dropped", \.kernelUserDropped,
            "The kernel's count of packets it could not deliver to intercept (its netlink buffer was full)"),
    ]
}

/// intercept's IPv6 NFQUEUE rule (ip6tables), when it watches one.
public struct IPv6RuleCounters: Sendable, Equatable, MetricSet {
    public var present = 0
    public var reinstalled = 0

    public init() {}

    // A counter, not a gauge, as the metrics endpoint served it before the registry.
    public static let metrics: [MetricDeclaration<Self>] = [
        .gauge("rule6_present", \.present, "1 while the IPv6 NFQUEUE rule is in place"),
        .counter("rule6_reinstalled", \.reinstalled, "Times intercept put its own IPv6 NFQUEUE rule back"),
    ]
}
