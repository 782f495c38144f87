/// Bytes waiting to be written to a non-blocking socket, with a hard size cap so that a slow or
/// stalled peer costs bounded memory. A partial write consumes exactly what the kernel took;
/// the next write starts from the first byte it did not take.
public struct BoundedOutputBuffer: Sendable {
    public let capacity: Int
    private var storage: [UInt8] = []
    private var readIndex = 0

    public init(capacity: Int) { self.capacity = capacity }

    public var pendingCount: Int { storage.count - readIndex }
    public var isEmpty: Bool { pendingCount == 0 }

    /// Whether `count` more bytes fit under the cap.
    public func canAccept(_ count: Int) -> Bool { pendingCount + count <= capacity }

    /// Appends a whole frame, or nothing when it would exceed the cap (frames are never split:
    /// the peer must not see half of one).
    @discardableResult
    public mutating func append(_ bytes: [UInt8]) -> Bool {
        guard canAccept(bytes.count) else { return false }
        compactIfWorthwhile()
        storage += bytes
        return true
    }

    /// Encodes `message` straight into the buffer when it fits.
    @discardableResult
    public mutating func append(_ message: ControlMessage) -> Bool {
        compactIfWorthwhile()
        let before = storage.count
        ControlEncoder.encode(message, into: &storage)
        if pendingCount > capacity {
            storage.removeSubrange(before...)
            return false
        }
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
