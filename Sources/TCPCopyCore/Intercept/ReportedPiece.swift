/// An `AnswerPiece` as intercept's `AnswerReporter` reports it: its head bytes not copied out
/// but left in the packet they came from (`head`, a range of its bytes), so that a piece costs
/// no allocation; the daemon encodes the `answer_piece` frame from the packet
/// (`ControlEncoder.encodeAnswerPiece`). Same fields and meaning as `AnswerPiece`'s.
public struct ReportedPiece: Hashable, Sendable {
    public var key: RouteKey
    public var sequenceOffset: UInt32
    public var acknowledgmentOffset: UInt32
    public var length: UInt16
    public var digestedLength: UInt16
    public var crc: UInt32
    public var flags: TCPFlags
    public var stampMicroseconds: UInt64
    /// Where the piece's head bytes are in the packet it was reported from (at most
    /// `AnswerPiece.headLimit` of them; empty when the piece is past its answer's first ones).
    public var head: Range<Int>
    public var startsAnswer: Bool

    public init(
        key: RouteKey, sequenceOffset: UInt32, acknowledgmentOffset: UInt32, length: UInt16, digestedLength: UInt16,
        crc: UInt32, flags: TCPFlags, stampMicroseconds: UInt64, head: Range<Int>, startsAnswer: Bool
    ) {
        self.key = key
        self.sequenceOffset = sequenceOffset
        self.acknowledgmentOffset = acknowledgmentOffset
        self.length = length
        self.digestedLength = digestedLength
        self.crc = crc
        self.flags = flags
        self.stampMicroseconds = stampMicroseconds
        self.head = head
        self.startsAnswer = startsAnswer
    }

    /// The piece with `head` (its head bytes, taken from the packet) as its own array.
    public func answerPiece(head bytes: UnsafeRawBufferPointer) -> AnswerPiece {
        AnswerPiece(
            key: key, sequenceOffset: sequenceOffset, acknowledgmentOffset: acknowledgmentOffset, length: length,
            digestedLength: digestedLength, crc: crc, flags: flags, stampMicroseconds: stampMicroseconds,
            head: Array(bytes), startsAnswer: startsAnswer)
    }
}
