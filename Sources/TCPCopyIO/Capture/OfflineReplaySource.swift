import Glibc
import Logging
import TCPCopyCore

/// A capture file replayed at its own pace (`--offline FILE`): libpcap streams it one packet at
/// a time, the clients' packets to the routes are handed on when `ReplayPacer` says they are
/// due, and everything else in the file is counted and skipped. No descriptor: the loop wakes
/// for the next packet through `millisecondsUntilDue`.
final class OfflineReplaySource: PacketSource {
    let descriptors: [Int32] = []
    private let replay: OfflineReplay
    private let classifier: ReplayClassifier
    private let logger: Logger
    private var pcap: PcapHandle
    private var linkType: LinkType
    private var pacer: ReplayPacer
    private let fileBytes: Int
    /// The replay's start on the monotonic clock, set by the first read.
    private var start: MonotonicTime?
    /// The next client packet, copied out of libpcap's buffer, and when it is due.
    private var pending: [UInt8] = []
    private var pendingTimestamp = CaptureTimestamp(nanoseconds: 0)
    private var pendingDue: MonotonicTime?
    private var loopsLeft: Int
    private(set) var exhausted = false
    private var counters = LinkCaptureCounters()
    private var answersSkipped = 0
    private var otherSkipped = 0
    private var clientPackets = 0
    private var sessions = FileSessionCounter()
    private var lastProgress = MonotonicTime.zero
    private let showsProgress = isatty(STDERR_FILENO) == 1
    /// `--compare`: sees the file's packets of the routes, both directions, as they are read
    /// (the answers feed the comparison instead of being skipped only).
    var observe: ((UnsafeRawBufferPointer, CaptureTimestamp) -> Void)?

    init(replay: OfflineReplay, routes: [CopyRoute], logger: Logger) throws {
        self.replay = replay
        self.logger = logger
        classifier = ReplayClassifier(routes: routes)
        pacer = ReplayPacer(speed: replay.speed, idleGapMilliseconds: replay.idleGapMilliseconds)
        loopsLeft = replay.loops
        var status = stat()
        guard stat(replay.path, &status) == 0 else {
            throw PcapError("cannot read the capture file \(replay.path): \(String(cString: strerror(errno)))")
        }
        fileBytes = Int(status.st_size)
        (pcap, linkType) = try Self.open(replay)
        logger.info(
            "replaying a capture file",
            metadata: [
                "file": "\(replay.path)", "speed": "\(replay.speed)", "loops": "\(replay.loops)",
                "idle_gap_ms": "\(replay.idleGapMilliseconds.map(String.init) ?? "none")",
            ])
    }

    private static func open(_ replay: OfflineReplay) throws(PcapError) -> (PcapHandle, LinkType) {
        let pcap = try PcapHandle.file(replay.path)
        guard let linkType = LinkType(dataLinkType: pcap.dataLinkType) else {
            throw PcapError(
                "the capture file \(replay.path) holds link type \(pcap.dataLinkType), not one tcpcopy reads (Ethernet, Linux cooked v1/v2, raw IP, NULL/LOOP)"
            )
        }
        if let filter = replay.filter { try pcap.setFilter(filter) }
        return (pcap, linkType)
    }

    func millisecondsUntilDue(now: MonotonicTime) -> Int64? {
        if exhausted { return nil }
        guard let pendingDue else { return 0 }
        return pendingDue - now
    }

    func read(limit: Int, now: MonotonicTime, _ body: (CapturedPacket) -> Void) throws -> Bool {
        let start = self.start ?? now
        self.start = start
        var handled = 0
        while handled < limit {
            if pendingDue == nil {
                guard try fetch(start: start) else { break }
            }
            guard let due = pendingDue, due <= now else { break }
            pending.withUnsafeBytes { body(CapturedPacket(bytes: $0, timestamp: pendingTimestamp)) }
            pendingDue = nil
            handled += 1
        }
        showProgress(now: now, start: start)
        return handled >= limit
    }

    /// Reads on to the next client packet and schedules it; false at the end of the replay.
    private func fetch(start: MonotonicTime) throws -> Bool {
        while true {
            guard let (frame, length, timestamp) = try pcap.next() else {
                loopsLeft -= 1
                if loopsLeft > 0 {
                    (pcap, linkType) = try Self.open(replay)
                    pacer.restart()
                    continue
                }
                exhausted = true
                if showsProgress { Self.writeToTerminal("\n") }
                guard clientPackets > 0 else {
                    throw PcapError(
                        "the capture file \(replay.path) holds no packet for the routes (\(answersSkipped) answers from their ports, \(otherSkipped) other packets): check the routes' ports and addresses"
                    )
                }
                return false
            }
            if frame.count < length {
                counters.truncated += 1
                continue
            }
            let decoded = LinkLayerDecoder.decode(frame, linkType: linkType)
            // The online server's answers, marked outgoing in a cooked capture, are never
            // replayed but do feed the comparison.
            if let observe {
                switch decoded {
                case .ipv4(let range, .outgoing), .ipv6(let range, .outgoing):
                    let packet = UnsafeRawBufferPointer(rebasing: frame[range])
                    if classifier.classify(packet) == .answer { observe(packet, timestamp) }
                default:
                    break
                }
            }
            guard let range = counters.accept(decoded) else { continue }
            let packet = UnsafeRawBufferPointer(rebasing: frame[range])
            let kind = classifier.classify(packet)
            if kind != .other { observe?(packet, timestamp) }
            switch kind {
            case .answer:
                answersSkipped += 1
                continue
            case .other:
                otherSkipped += 1
                continue
            case .client:
                break
            }
            clientPackets += 1
            sessions.saw(packet)
            pending.removeAll(keepingCapacity: true)
            pending.append(contentsOf: packet)
            pendingTimestamp = timestamp
            pendingDue = start + pacer.due(timestamp) / 1_000_000
            return true
        }
    }

    /// A line rewritten in place once a second on a terminal: how far the file is, the
    /// sessions seen, the time spent and the expected end.
    private func showProgress(now: MonotonicTime, start: MonotonicTime) {
        guard showsProgress, now - lastProgress >= 1000, fileBytes > 0 else { return }
        lastProgress = now
        let done = Double(min(pcap.fileOffset, fileBytes)) / Double(fileBytes)
        let loopsDone = Double(replay.loops - loopsLeft)
        let fraction = (loopsDone + done) / Double(replay.loops)
        let elapsed = Double(now - start) / 1000
        let end = fraction >= 0.01 ? "in \(Int((elapsed / fraction - elapsed).rounded())) s" : "not known yet"
        let line =
            "\rreplay \(Int(fraction * 100))% sessions \(sessions.count) elapsed \(Int(elapsed)) s expected end \(end)   "
        Self.writeToTerminal(line)
    }

    private static func writeToTerminal(_ text: String) {
        var bytes = Array(text.utf8)
        _ = try? systemCall("write(stderr)") { write(STDERR_FILENO, &bytes, bytes.count) }
    }

    var kernelDropped: Int { 0 }

    func addCounters(to counters: inout CaptureCounters) {
        counters.dropped = 0
        counters.truncated = self.counters.truncated
        counters.linkLayer = self.counters
        var replay = ReplayCounters()
        replay.clientPackets = clientPackets
        replay.answersSkipped = answersSkipped
        replay.otherSkipped = otherSkipped
        replay.sessionsInFile = sessions.count
        counters.replay = replay
    }

    /// The end-of-replay summary: the file's sessions and what became of their copies.
    func summary(engine counters: TCPCopyCounters) -> String? {
        var outcomes: [String] = []
        for outcome in SessionOutcome.allCases {
            if let count = counters.sessionsEnded[outcome], count > 0 {
                outcomes.append("\(outcome.rawValue) \(count)")
            }
        }
        return
            "replayed \(replay.path)\(replay.loops > 1 ? " \(replay.loops) times" : ""): sessions in the file \(sessions.count), replayed \(counters.sessionsStarted), completed \(counters.sessionsEnded[.completed, default: 0]) (\(outcomes.joined(separator: ", "))); \(clientPackets) client packets, \(answersSkipped) answers skipped, \(counters.sessionsSynthesized) sessions started without their SYN, \(self.counters.truncated) truncated packets"
    }
}
