/// The digest of one answer, taken from its segments however they were cut, repeated or
/// reordered: bytes are placed by their offset from the answer's first byte, and the CRC-32C
/// runs over them in offset order, once each (after `HeaderMaskFilter` drops masked lines).
///
/// Segments ahead of a hole wait, up to `pendingLimit` bytes; past that the answer is marked
/// incomplete and has no digest, rather than a wrong one.
public struct AnswerDigest: Sendable {
    /// The bytes held ahead of a hole, by default.
    public static let defaultPendingLimit = 256 * 1024
    /// The answer bytes kept to read its first line from.
    public static let headLimit = 128

    public let pendingLimit: Int
    /// CRC-32C of the digested bytes (the answer, masked lines dropped) so far.
    public private(set) var crc: UInt32 = 0
    /// Bytes digested: the answer's length once masked lines are dropped.
    public private(set) var digestedLength: UInt64 = 0
    /// Answer bytes received in order from offset 0, before masking.
    public private(set) var contiguousLength: UInt64 = 0
    /// One past the highest answer byte seen.
    public private(set) var highestEnd: UInt64 = 0
    /// The answer's first bytes, for its first line.
    public private(set) var head: [UInt8] = []
    /// Whether bytes were given up on (too many ahead of a hole).
    public private(set) var overflowed = false

    private var filter: HeaderMaskFilter
    private var pending: [(offset: UInt64, bytes: [UInt8])] = []
    private var pendingBytes = 0
    private var scratch: [UInt8] = []

    public init(filter: HeaderMaskFilter = HeaderMaskFilter(), pendingLimit: Int = defaultPendingLimit) {
        self.filter = filter
        self.pendingLimit = pendingLimit
    }

    /// The digest, when every byte up to the highest seen was digested.
    public var digest: UInt32? { isComplete ? crc : nil }

    /// Whether no hole is left and nothing was given up on.
    public var isComplete: Bool { !overflowed && pending.isEmpty && contiguousLength == highestEnd }

    /// Adds the answer bytes starting `offset` bytes after the answer's first byte.
    public mutating func add<Bytes: Collection<UInt8>>(offset: UInt64, _ bytes: Bytes) {
        let end = offset + UInt64(bytes.count)
        guard end > contiguousLength else { return }  // a duplicate
        highestEnd = max(highestEnd, end)
        if offset > contiguousLength {
            hold(offset: offset, Array(bytes))
            return
        }
        let skip = Int(contiguousLength - offset)
        digest(bytes.dropFirst(skip))
        drainPending()
    }

    private mutating func hold(offset: UInt64, _ bytes: [UInt8]) {
        guard pendingBytes + bytes.count <= pendingLimit else {
            overflowed = true
            return
        }
        let index = pending.firstIndex { $0.offset > offset } ?? pending.endIndex
        pending.insert((offset, bytes), at: index)
        pendingBytes += bytes.count
    }

    private mutating func drainPending() {
        while let first = pending.first, first.offset <= contiguousLength {
            pending.removeFirst()
            pendingBytes -= first.bytes.count
            let end = first.offset + UInt64(first.bytes.count)
            guard end > contiguousLength else { continue }
            digest(first.bytes[Int(contiguousLength - first.offset)...])
        }
    }

    private mutating func digest<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
        if head.count < Self.headLimit { head.append(contentsOf: bytes.prefix(Self.headLimit - head.count)) }
        contiguousLength += UInt64(bytes.count)
        guard filter.isMasking else {
            crc = CRC32C.update(crc, with: bytes)
            digestedLength += UInt64(bytes.count)
            return
        }
        scratch.removeAll(keepingCapacity: true)
        filter.filter(bytes, into: &scratch)
        crc = CRC32C.update(crc, with: scratch)
        digestedLength += UInt64(scratch.count)
    }
}

/// Joins per-segment CRC-32Cs (offset, length, CRC) of one answer in offset order with
/// `CRC32C.combine`, for a side that reports CRCs rather than bytes (intercept). Exact repeats
/// are ignored and pieces may come in any order; a piece overlapping another only in part
/// cannot be joined without its bytes and marks the digest unknown (intercept reports only
/// bytes past those it already reported, so that its pieces never overlap).
public struct SegmentCRCCombiner: Sendable {
    /// Pieces held ahead of a hole, at most.
    public static let pendingLimit = 256

    public private(set) var crc: UInt32 = 0
    public private(set) var contiguousLength: UInt64 = 0
    public private(set) var highestEnd: UInt64 = 0
    /// Bytes the joined CRC covers: `contiguousLength` less what masking left out.
    public private(set) var digestedLength: UInt64 = 0
    /// Whether a piece could not be joined (a partial overlap, or too many held).
    public private(set) var unjoinable = false
    private var pending: [(offset: UInt64, length: UInt64, crc: UInt32, digested: UInt64)] = []

    public init() {}

    public var digest: UInt32? { !unjoinable && pending.isEmpty && contiguousLength == highestEnd ? crc : nil }

    /// Adds a piece of `length` answer bytes at `offset`, whose CRC covers `digestedLength` of
    /// them (fewer when masked header lines were left out; all of them by default).
    public mutating func add(offset: UInt64, length: UInt64, crc pieceCRC: UInt32, digestedLength: UInt64? = nil) {
        let digested = digestedLength ?? length
        guard length > 0 else { return }
        highestEnd = max(highestEnd, offset + length)
        if offset > contiguousLength {
            if pending.contains(where: { $0.offset == offset && $0.length == length }) { return }
            guard pending.count < Self.pendingLimit else {
                unjoinable = true
                return
            }
            let index = pending.firstIndex { $0.offset > offset } ?? pending.endIndex
            pending.insert((offset, length, pieceCRC, digested), at: index)
            return
        }
        join(offset: offset, length: length, crc: pieceCRC, digested: digested)
        while let first = pending.first, first.offset <= contiguousLength {
            pending.removeFirst()
            join(offset: first.offset, length: first.length, crc: first.crc, digested: first.digested)
        }
    }

    private mutating func join(offset: UInt64, length: UInt64, crc pieceCRC: UInt32, digested: UInt64) {
        let end = offset + length
        if end <= contiguousLength { return }  // a repeat of what is joined
        guard offset == contiguousLength else {
            unjoinable = true
            return
        }
        crc = CRC32C.combine(crc, pieceCRC, lengthB: digested)
        contiguousLength = end
        digestedLength += digested
    }
}
