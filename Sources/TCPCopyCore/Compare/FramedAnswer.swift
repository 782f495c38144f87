/// Production's answer to one gated batch of requests, cut into one answer per request where
/// an `HTTPMessageFramer` finds where answers begin (pipelined HTTP/1.x), each digested on its
/// own (`AnswerDigest`, masked header lines reset at each answer). Without a framer, or once it
/// stops, the rest is one answer, as the batch was before framing.
///
/// Segments come in any order: those ahead of a hole wait (up to `pendingLimit` bytes), so that
/// the framer reads the stream in order.
public struct FramedAnswer: Sendable {
    public struct Part: Sendable {
        /// The part's first byte, from the batch's answer start.
        public var start: UInt64
        public var digest: AnswerDigest
        /// When its first byte was read (a held segment's: when the hole before it was filled).
        public var firstMicroseconds: Int64
    }

    public let pendingLimit: Int
    public private(set) var parts: [Part] = []
    /// One past the highest answer byte seen.
    public private(set) var highestEnd: UInt64 = 0
    /// Bytes read in order from the batch's answer start.
    public private(set) var contiguousLength: UInt64 = 0
    /// Whether bytes were given up on (too many ahead of a hole).
    public private(set) var overflowed = false
    private var framer: HTTPMessageFramer?
    private let filter: HeaderMaskFilter
    private var pending: [(offset: UInt64, bytes: [UInt8], microseconds: Int64)] = []
    private var pendingBytes = 0

    /// `framing`: look for HTTP/1.x answers (the batch's requests were framed as HTTP).
    public init(
        filter: HeaderMaskFilter = HeaderMaskFilter(), framing: Bool,
        pendingLimit: Int = AnswerDigest.defaultPendingLimit
    ) {
        self.filter = filter
        self.pendingLimit = pendingLimit
        framer = framing ? HTTPMessageFramer(kind: .answer) : nil
    }

    /// Adds the answer bytes starting `offset` bytes after the batch's answer start, read at
    /// `microseconds`; at most `partLimit` parts are made (the batch's requests), the last one
    /// taking what is left.
    public mutating func add(offset: UInt64, _ bytes: UnsafeRawBufferPointer, microseconds: Int64, partLimit: Int) {
        let end = offset + UInt64(bytes.count)
        guard end > contiguousLength else { return }  // a duplicate
        highestEnd = max(highestEnd, end)
        if offset > contiguousLength {
            guard pendingBytes + bytes.count <= pendingLimit else {
                overflowed = true
                return
            }
            let index = pending.firstIndex { $0.offset > offset } ?? pending.endIndex
            pending.insert((offset, Array(bytes), microseconds), at: index)
            pendingBytes += bytes.count
            return
        }
        read(bytes[Int(contiguousLength - offset)...], microseconds: microseconds, partLimit: partLimit)
        while let first = pending.first, first.offset <= contiguousLength {
            pending.removeFirst()
            pendingBytes -= first.bytes.count
            let firstEnd = first.offset + UInt64(first.bytes.count)
            guard firstEnd > contiguousLength else { continue }
            first.bytes.withUnsafeBytes { held in
                read(held[Int(contiguousLength - first.offset)...], microseconds: microseconds, partLimit: partLimit)
            }
        }
    }

    private mutating func read(_ bytes: Slice<UnsafeRawBufferPointer>, microseconds: Int64, partLimit: Int) {
        var rest = bytes
        while !rest.isEmpty {
            var take = rest.count
            var starts = false
            if framer?.isFraming == true {
                starts = framer!.atMessageStart
                take = framer!.read(rest)
                if take == 0 { continue }
            }
            if parts.isEmpty
                || (starts && contiguousLength > parts[parts.count - 1].start && parts.count < partLimit)
            {
                parts.append(
                    Part(start: contiguousLength, digest: AnswerDigest(filter: filter), firstMicroseconds: microseconds)
                )
            }
            let last = parts.count - 1
            parts[last].digest.add(offset: contiguousLength - parts[last].start, rest.prefix(take))
            contiguousLength += UInt64(take)
            rest = rest.dropFirst(take)
        }
    }

    /// The facts of part `index` (silent, or as `ending` says, when there is no such part):
    /// the last part counts the bytes past a hole as they are, and has no digest then.
    public func facts(part index: Int, ending: AnswerEnding, latencyMicroseconds: UInt64?) -> AnswerFacts {
        guard index < parts.count else { return AnswerFacts(ending: ending) }
        let part = parts[index]
        guard index == parts.count - 1, !isComplete else {
            return AnswerFacts(answer: part.digest, ending: ending, latencyMicroseconds: latencyMicroseconds)
        }
        let length = highestEnd - part.start
        let digest = part.digest
        return AnswerFacts(
            ending: .answered, length: length,
            comparedLength: digest.digestedLength + (length - digest.contiguousLength), digest: nil,
            head: digest.head, latencyMicroseconds: latencyMicroseconds)
    }

    /// Whether no hole is left and nothing was given up on.
    public var isComplete: Bool { !overflowed && pending.isEmpty && contiguousLength == highestEnd }
}
