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
    private var decoder = ControlDecoder()
    private(set) var output: BoundedOutputBuffer
    private var readBuffer = [UInt8](repeating: 0, count: 1 << 16)

    init(descriptor: FileDescriptor, peer: String, outputCapacity: Int) {
        self.descriptor = descriptor
        self.peer = peer
        output = BoundedOutputBuffer(capacity: outputCapacity)
    }

    var hasPendingOutput: Bool { !output.isEmpty }

    /// Queues a message; false (and nothing queued) when the output buffer is full.
    @discardableResult
    func send(_ message: ControlMessage) -> Bool { output.append(message) }

    /// Writes as much pending output as the socket takes. A partial write leaves the rest, from
    /// the first unwritten byte, for the next call.
    func flush() throws(SystemCallError) {
        while !output.isEmpty {
            let written = output.withPendingBytes { bytes in
                Glibc.send(descriptor.rawValue, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            }
            if written >= 0 {
                output.consume(written)
                continue
            }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { return }
            throw SystemCallError("send(control)", errno: code)
        }
    }

    /// Reads what is available and decodes whole messages into `messages`.
    func read(into messages: inout [ControlMessage]) -> ReadOutcome {
        while true {
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
            do {
                while let message = try decoder.next() { messages.append(message) }
            } catch {
                return .corrupt(error)
            }
            if count < readBuffer.count { break }
        }
        return .open
    }
}
