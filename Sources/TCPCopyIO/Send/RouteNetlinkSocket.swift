import Glibc
import TCPCopyCore

/// A NETLINK_ROUTE socket for the link-layer sink's questions (`RouteNetlink`): one request,
/// one answer, waiting at most `timeoutMilliseconds`. The questions are rare (once per
/// destination per refresh), so a blocking socket with a receive timeout is simpler than
/// another source in the event loop, and the timeout bounds the loop's pause.
final class RouteNetlinkSocket {
    private let descriptor: FileDescriptor
    private var sequence: UInt32 = 0
    private var buffer = [UInt8](repeating: 0, count: 16384)

    init(timeoutMilliseconds: Int) throws(SystemCallError) {
        descriptor = FileDescriptor(
            try systemCall("socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)") {
                socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            })
        var timeout = timeval(tv_sec: timeoutMilliseconds / 1000, tv_usec: (timeoutMilliseconds % 1000) * 1000)
        try systemCall("setsockopt(SO_RCVTIMEO)") {
            setsockopt(descriptor.rawValue, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    /// Sends the request `build` makes for the next sequence number and returns the kernel's
    /// answer. A timeout throws `EAGAIN`.
    func ask(_ what: String, _ build: (UInt32) -> [UInt8]) throws(SystemCallError) -> RouteNetlinkAnswer {
        sequence &+= 1
        let request = build(sequence)
        try systemCall("send(rtnetlink \(what))") {
            request.withUnsafeBytes { send(descriptor.rawValue, $0.baseAddress, $0.count, 0) }
        }
        // Answers to earlier requests that timed out may still be queued: skip them, boundedly.
        for _ in 0..<8 {
            let length = try systemCall("recv(rtnetlink \(what))") {
                buffer.withUnsafeMutableBytes { recv(descriptor.rawValue, $0.baseAddress, $0.count, 0) }
            }
            let answer = RouteNetlink.parseAnswer(Array(buffer[0..<length]), sequence: sequence)
            if answer != .incomplete { return answer }
        }
        return .incomplete
    }
}
