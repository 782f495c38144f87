/// Bytes waiting to be written to a non-blocking socket, with a hard size cap so that a slow or
/// stalled peer costs bounded memory. A partial write consumes exactly what the kernel took;
/// the next write starts from the first byte it did not take.
public struct BoundedOutputBuffer: Sendable {
    public let capacity: Int
    private var storage: [UInt8] = []
    private var readIndex = 0
    /// Frames appended, and frames refused because they did not fit: counted here, in the one
    /// value a connection touches per frame.
    public private(set) var framesAppended = 0
    public private(set) var framesRefused = 0

    public init(capacity: Int) { self.capacity = capacity }

    public var pendingCount: Int { storage.count - readIndex }
    public var isEmpty: Bool { pendingCount == 0 }

    /// Whether `count` more bytes fit under the cap.
    public func canAccept(_ count: Int) -> Bool { pendingCount + count <= capacity }

    /// Appends a whole frame, or nothing when it would exceed the cap (frames are never split:
    /// the peer must not see half of one).
    @discardableResult
    public mutating func append(_ bytes: [UInt8]) -> Bool {
        guard canAccept(bytes.count) else {
            framesRefused += 1
            return false
        }
        compactIfWorthwhile()
        storage += bytes
        framesAppended += 1
        return true
    }

    /// Encodes `message` straight into the buffer when it fits.
    @discardableResult
    public mutating func append(_ message: ControlMessage) -> Bool {
        appendFrame { ControlEncoder.encode(message, into: &$0) }
    }

    /// Encodes a `.response` frame holding `headers` (see `ControlEncoder.encodeResponse`)
    /// straight into the buffer when it fits.
    @discardableResult
    public mutating func appendResponse(headers: UnsafeRawBufferPointer) -> Bool {
        appendFrame { ControlEncoder.encodeResponse(headers: headers, into: &$0) }
    }

    /// Encodes an `answer_piece` frame (see `ControlEncoder.encodeAnswerPiece`) straight into
    /// the buffer when it fits.
    @discardableResult
    public mutating func appendAnswerPiece(_ piece: ReportedPiece, head: UnsafeRawBufferPointer) -> Bool {
        appendFrame { ControlEncoder.encodeAnswerPiece(piece, head: head, into: &$0) }
    }

    private mutating func appendFrame(_ encode: (inout [UInt8]) -> Void) -> Bool {
        compactIfWorthwhile()
        let before = storage.count
        encode(&storage)
        if pendingCount > capacity {
            storage.removeSubrange(before...)
            framesRefused += 1
            return false
        }
        framesAppended += 1
        return true
    }

    /// Calls `body` with the unwritten bytes, from the first one the peer has not received.
    public func withPendingBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        storage.withUnsafeBytes { raw in body(UnsafeRawBufferPointer(rebasing: raw[readIndex...])) }
    }

    public mutating func consume(_ count: Int) {
        precondition(count >= 0 && count <= pendingCount, "consumed more than was pending")
        readIndex += count
        if readIndex == storage.count {
            storage.removeAll(keepingCapacity: storage.capacity <= 1 << 20)
            readIndex = 0
        }
    }

    private mutating func compactIfWorthwhile() {
        if readIndex > 4096 && readIndex >= storage.count / 2 {
            storage.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }
}
