import Glibc
import TCPCopyCore

/// One end of a control connection: a non-blocking TCP socket, a decoder that never misreads a
/// partial or corrupt frame, and a bounded output buffer flushed as the socket accepts bytes.
final class ControlConnection {
    enum ReadOutcome {
        case open
        /// The peer closed the connection, or reading failed.
        case closed(String)
        /// The stream is corrupt; the connection must be dropped.
        case corrupt(ControlProtocolError)
    }

    let descriptor: FileDescriptor
    let peer: String
    /// When the connection was made: the handshake's deadline counts from here.
    let openedAt: MonotonicTime
    private var decoder = ControlDecoder()
    private(set) var output: BoundedOutputBuffer
    private var readBuffer = [UInt8](repeating: 0, count: 1 << 16)
    /// When the peer was last heard from and a heartbeat last sent.
    var liveness: LinkLiveness
    /// Set once a message did not fit in the output buffer: the peer is not reading.
    var overflowed: Bool { output.framesRefused > 0 }
    /// Whether the event loop watches the socket for room to write; changed only when the
    /// pending output starts or stops, not on every flush.
    var watchesWritable = false

    init(
        descriptor: FileDescriptor, peer: String, outputCapacity: Int, now: MonotonicTime,
        heartbeatMilliseconds: Int64 = 2000, deadAfterMilliseconds: Int64 = 6000
    ) {
        self.descriptor = descriptor
        self.peer = peer
        openedAt = now
        output = BoundedOutputBuffer(capacity: outputCapacity)
        liveness = LinkLiveness(
            now: now, heartbeatMilliseconds: heartbeatMilliseconds, deadAfterMilliseconds: deadAfterMilliseconds)
    }

    var hasPendingOutput: Bool { !output.isEmpty }

    /// What went through this connection, for the counters.
    private(set) var bytesSent = 0
    private(set) var bytesReceived = 0
    var messagesQueued: Int { output.framesAppended }
    /// Messages refused because the output buffer was full.
    var messagesRefused: Int { output.framesRefused }

    /// Queues a message; false (and nothing queued) when the output buffer is full, which also
    /// marks the connection `overflowed`.
    @discardableResult
    func send(_ message: ControlMessage) -> Bool { output.append(message) }

    /// Queues a `.response` frame holding `headers` (see `ControlEncoder.encodeResponse`), like
    /// `send`.
    func sendResponse(headers: UnsafeRawBufferPointer) -> Bool { output.appendResponse(headers: headers) }

    /// Queues an `answer_piece` frame (see `ControlEncoder.encodeAnswerPiece`), like `send`.
    func sendAnswerPiece(_ piece: ReportedPiece, head: UnsafeRawBufferPointer) -> Bool {
        output.appendAnswerPiece(piece, head: head)
    }

    /// Writes as much pending output as the socket takes. A partial write leaves the rest, from
    /// the first unwritten byte, for the next call.
    func flush() throws(SystemCallError) {
        while !output.isEmpty {
            let result = try nonBlocking("send(control)") {
                output.withPendingBytes { bytes in
                    Glibc.send(descriptor.rawValue, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
                }
            }
            guard case .done(let written) = result else { return }
            output.consume(written)
            bytesSent += written
        }
    }

    /// Reads what is available (at most `maximumReads` buffers, so that one flooding peer cannot
    /// starve the others: the level-triggered loop comes back for the rest) and decodes whole
    /// messages into `messages`. `now` (the clock's, unless given) is when the peer was heard
    /// from, if a whole frame came.
    func read(into messages: inout [ControlMessage], maximumReads: Int = 16, now: MonotonicTime? = nil) -> ReadOutcome {
        receive(maximumReads: maximumReads, now: now) { decoder throws(ControlProtocolError) in
            while let message = try decoder.next() { messages.append(message) }
        }
    }

    /// Like `read(into:)`, but hands each message to `handle` as it is decoded, a response as
    /// its parsed packet (`ControlDecoder.nextEvent`): tcpcopy's path for the target's responses,
    /// one per packet the target sends.
    func read(maximumReads: Int = 16, now: MonotonicTime? = nil, handling handle: (ControlEvent) -> Void)
        -> ReadOutcome
    {
        receive(maximumReads: maximumReads, now: now) { decoder throws(ControlProtocolError) in
            while let event = try decoder.nextEvent() { handle(event) }
        }
    }

    private func receive(
        maximumReads: Int, now: MonotonicTime?, decodeAll: (inout ControlDecoder) throws(ControlProtocolError) -> Void
    ) -> ReadOutcome {
        for _ in 0..<maximumReads {
            let result: IOResult<Int>
            do {
                result = try nonBlocking("recv(control)") {
                    readBuffer.withUnsafeMutableBytes { recv(descriptor.rawValue, $0.baseAddress, $0.count, 0) }
                }
            } catch {
                return .closed(error.description)
            }
            guard case .done(let count) = result else { break }
            if count == 0 { return .closed("peer closed the connection") }
            decoder.append(readBuffer[0..<count])
            bytesReceived += count
            let framesBefore = decoder.framesDecoded
            do {
                try decodeAll(&decoder)
            } catch {
                return .corrupt(error)
            }
            // Only whole frames count as signs of life.
            if decoder.framesDecoded != framesBefore { liveness.received(now: now ?? monotonicNow()) }
            if count < readBuffer.count { break }
        }
        return .open
    }
}
