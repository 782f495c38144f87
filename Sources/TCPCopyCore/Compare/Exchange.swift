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
    public var firstLine: String?
    /// Request's last byte → answer's first byte, in microseconds; nil without an answer.
    public var latencyMicroseconds: UInt64?

    public init(
        ending: AnswerEnding, length: UInt64 = 0, comparedLength: UInt64? = nil, digest: UInt32? = nil,
        firstLine: String? = nil, latencyMicroseconds: UInt64? = nil
    ) {
        self.ending = ending
        self.length = length
        self.comparedLength = comparedLength ?? length
        self.digest = digest
        self.firstLine = firstLine
        self.latencyMicroseconds = latencyMicroseconds
    }

    /// The facts of a digested answer. Bytes past a hole count in the compared length as they
    /// are (they were never filtered), so a masked line is only left in where it was not seen.
    public init(answer: AnswerDigest, ending: AnswerEnding = .answered, latencyMicroseconds: UInt64?) {
        self.init(
            ending: answer.highestEnd > 0 ? .answered : ending, length: answer.highestEnd,
            comparedLength: answer.digestedLength + (answer.highestEnd - answer.contiguousLength),
            digest: answer.digest,
            firstLine: TextFirstLine.extract(answer.head), latencyMicroseconds: latencyMicroseconds)
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

    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// One request and both sides' answers to it.
public struct Exchange: Equatable, Sendable {
    /// The copied session, e.g. "10.0.9.1:40312".
    public var session: String
    /// 1 for the session's first request.
    public var number: UInt64
    /// The service port, the summary's key when the request is not HTTP.
    public var port: UInt16
    public var requestFirstLine: String?
    public var online: AnswerFacts
    public var target: AnswerFacts

    public init(
        session: String, number: UInt64, port: UInt16, requestFirstLine: String?, online: AnswerFacts,
        target: AnswerFacts
    ) {
        self.session = session
        self.number = number
        self.port = port
        self.requestFirstLine = requestFirstLine
        self.online = online
        self.target = target
    }

    /// The summary's key: "METHOD /path" for HTTP, "port N" otherwise.
    public var key: String {
        requestFirstLine.flatMap(TextFirstLine.httpKey(ofRequestLine:)) ?? "port \(port)"
    }

    /// The first outcome that applies, comparing as much as `mode` says.
    public func outcome(mode: CompareMode = .bytes) -> CompareOutcome {
        let targetAnswered = target.ending == .answered
        if !targetAnswered, target.ending == .reset || target.ending == .closed, online.ending != target.ending {
            return .targetReset
        }
        if target.ending == .silent, online.ending != .silent { return .targetSilent }
        if online.firstLine != target.firstLine || online.ending != target.ending { return .firstLineDiffers }
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
