/// How one side's answer to a request ended.
public enum AnswerEnding: String, Sendable, CaseIterable {
    /// Answer bytes came (whatever followed them).
    case answered
    /// A reset came before any answer byte.
    case reset
    /// A FIN came before any answer byte.
    case closed
    /// Nothing came before the next request or the end of the session.
    case silent
}

/// What one side (production, "online", or the target) answered to one request.
public struct AnswerFacts: Equatable, Sendable {
    public var ending: AnswerEnding
    /// Answer bytes, as sent.
    public var length: UInt64
    /// Bytes compared by length: `length` less the masked header lines.
    public var comparedLength: UInt64
    /// CRC-32C of the answer (masked lines dropped); nil when not all of it was seen.
    public var digest: UInt32?
    /// The answer's first line as text, or the bytes it is read from (`head`): a closed
    /// exchange's strings are made only when asked for (the log, the report), as most
    /// exchanges are counted and dropped.
    private var firstLineText: String?
    private var head: [UInt8]?
    /// Request's last byte → answer's first byte, in microseconds; nil without an answer.
    public var latencyMicroseconds: UInt64?

    public var firstLine: String? {
        get {
            if let head { return TextFirstLine.extract(head) }
            return firstLineText
        }
        set {
            firstLineText = newValue
            head = nil
        }
    }

    public init(
        ending: AnswerEnding, length: UInt64 = 0, comparedLength: UInt64? = nil, digest: UInt32? = nil,
        firstLine: String? = nil, latencyMicroseconds: UInt64? = nil
    ) {
        self.ending = ending
        self.length = length
        self.comparedLength = comparedLength ?? length
        self.digest = digest
        self.firstLineText = firstLine
        self.latencyMicroseconds = latencyMicroseconds
    }

    /// Facts whose first line is read from the answer's first bytes `head` when asked for.
    public init(
        ending: AnswerEnding, length: UInt64, comparedLength: UInt64, digest: UInt32?, head: [UInt8],
        latencyMicroseconds: UInt64?
    ) {
        self.init(
            ending: ending, length: length, comparedLength: comparedLength, digest: digest,
            latencyMicroseconds: latencyMicroseconds)
        self.head = head
    }

    /// The facts of a digested answer. Bytes past a hole count in the compared length as they
    /// are (they were never filtered), so a masked line is only left in where it was not seen.
    public init(answer: AnswerDigest, ending: AnswerEnding = .answered, latencyMicroseconds: UInt64?) {
        self.init(
            ending: answer.highestEnd > 0 ? .answered : ending, length: answer.highestEnd,
            comparedLength: answer.digestedLength + (answer.highestEnd - answer.contiguousLength),
            digest: answer.digest, head: answer.head, latencyMicroseconds: latencyMicroseconds)
    }

    /// Whether both first lines are the same (none on both counts), without making strings
    /// when both are still bytes.
    public func hasSameFirstLine(as other: AnswerFacts) -> Bool {
        if let head, let otherHead = other.head {
            return TextFirstLine.line(in: head).elementsEqual(TextFirstLine.line(in: otherHead))
        }
        return firstLine == other.firstLine
    }

    public static func == (lhs: AnswerFacts, rhs: AnswerFacts) -> Bool {
        lhs.ending == rhs.ending && lhs.length == rhs.length && lhs.comparedLength == rhs.comparedLength
            && lhs.digest == rhs.digest && lhs.latencyMicroseconds == rhs.latencyMicroseconds
            && lhs.hasSameFirstLine(as: rhs)
    }
}

/// How much of the answers is compared (`--compare-mode`): each mode detects what the ones
/// before it do, and more.
public enum CompareMode: String, Sendable, CaseIterable {
    /// Resets, silence and the first line (the status) only.
    case firstLine = "first-line"
    /// ... and the length.
    case length
    /// ... and every byte (the digest). The default.
    case bytes
}

/// The outcome of one exchange; it is counted under the first that applies, in this order.
public enum CompareOutcome: String, Sendable, CaseIterable, Comparable {
    case targetReset = "compare_target_reset"
    case targetSilent = "compare_target_silent"
    case firstLineDiffers = "compare_first_line_differs"
    case lengthDiffers = "compare_length_differs"
    case bytesDiffer = "compare_bytes_differ"
    case same = "compare_same"

    /// The counter of all exchanges.
    public static let totalCounterName = "compare_exchanges"
    /// The total's name, then each outcome's in order.
    public static let counterNames = [totalCounterName] + allCases.map(\.rawValue)

    /// The outcome's place in `allCases`, without making that array (as `allCases` does).
    public var index: Int {
        switch self {
        case .targetReset: 0
        case .targetSilent: 1
        case .firstLineDiffers: 2
        case .lengthDiffers: 3
        case .bytesDiffer: 4
        case .same: 5
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.index < rhs.index }
}

/// One request and both sides' answers to it.
public struct Exchange: Equatable, Sendable {
    /// The session as text, or the connection it is named after (`client`): made only when
    /// asked for, as the request's first line (`requestBytes`).
    private var sessionText = ""
    private var client: CompareConnection?
    private var requestText: String?
    private var requestBytes: [UInt8]?
    /// 1 for the session's first request.
    public var number: UInt64
    /// The service port, the summary's key when the request is not HTTP.
    public var port: UInt16
    public var online: AnswerFacts
    public var target: AnswerFacts

    public init(
        session: String, number: UInt64, port: UInt16, requestFirstLine: String?, online: AnswerFacts,
        target: AnswerFacts
    ) {
        self.sessionText = session
        self.number = number
        self.port = port
        self.requestText = requestFirstLine
        self.online = online
        self.target = target
    }

    /// An exchange of `connection` whose request's first line is read from its first bytes
    /// `requestHead` when asked for.
    public init(
        connection: CompareConnection, number: UInt64, requestHead: [UInt8], online: AnswerFacts,
        target: AnswerFacts
    ) {
        self.client = connection
        self.number = number
        self.port = connection.servicePort
        self.requestBytes = requestHead
        self.online = online
        self.target = target
    }

    /// The copied session, e.g. "10.0.9.1:40312".
    public var session: String {
        get { client?.session ?? sessionText }
        set {
            sessionText = newValue
            client = nil
        }
    }

    public var requestFirstLine: String? {
        get {
            if let requestBytes { return TextFirstLine.extract(requestBytes) }
            return requestText
        }
        set {
            requestText = newValue
            requestBytes = nil
        }
    }

    /// The summary's key: "METHOD /path" for HTTP, "port N" otherwise.
    public var key: String {
        requestFirstLine.flatMap(TextFirstLine.httpKey(ofRequestLine:)) ?? "port \(port)"
    }

    /// `key` as the summary looks it up: the request's bytes that spell it when they are kept
    /// (no string made), else the port or the text.
    public enum SummaryKey {
        case bytes(ArraySlice<UInt8>)
        case port(UInt16)
        case text(String)
    }

    public var summaryKey: SummaryKey {
        guard let requestBytes else { return .text(key) }
        let line = TextFirstLine.line(in: requestBytes)
        guard let length = TextFirstLine.httpKeyLength(ofRequestLine: line) else { return .port(port) }
        return .bytes(line.prefix(length))
    }

    public static func == (lhs: Exchange, rhs: Exchange) -> Bool {
        lhs.number == rhs.number && lhs.port == rhs.port && lhs.online == rhs.online && lhs.target == rhs.target
            && lhs.session == rhs.session && lhs.requestFirstLine == rhs.requestFirstLine
    }

    /// The first outcome that applies, comparing as much as `mode` says.
    public func outcome(mode: CompareMode = .bytes) -> CompareOutcome {
        let targetAnswered = target.ending == .answered
        if !targetAnswered, target.ending == .reset || target.ending == .closed, online.ending != target.ending {
            return .targetReset
        }
        if target.ending == .silent, online.ending != .silent { return .targetSilent }
        if online.ending != target.ending || !online.hasSameFirstLine(as: target) { return .firstLineDiffers }
        if mode == .firstLine { return .same }
        if online.comparedLength != target.comparedLength { return .lengthDiffers }
        if mode == .length { return .same }
        // An answer not wholly seen has no digest: its bytes cannot be said to differ.
        if let onlineDigest = online.digest, let targetDigest = target.digest, onlineDigest != targetDigest {
            return .bytesDiffer
        }
        return .same
    }
}
