import CTCPCopyShims
import Glibc
import TCPCopyCore

/// The capture side of tcpcopy: an AF_INET raw socket for TCP, which the kernel hands a copy
/// of every TCP packet delivered to this host (inbound only), IP header included.
final class RawCaptureSocket {
    let descriptor: FileDescriptor
    /// Large enough for a GRO super-packet (IP total length is at most 65535).
    private var buffer = [UInt8](repeating: 0, count: 65536)
    /// Packets the kernel dropped because the receive buffer was full (SO_RXQ_OVFL): copies
    /// lost before tcpcopy saw them.
    private(set) var kernelDropped: UInt32 = 0

    init(receiveBufferBytes: Int32) throws(SystemCallError) {
        descriptor = FileDescriptor(
            try systemCall("socket(AF_INET, SOCK_RAW, IPPROTO_TCP)") {
                socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_TCP))
            })
        try setNonBlocking(descriptor.rawValue)
        // FORCE lifts the sysctl cap (we are root); fall back to the capped option.
        do {
            try setSocketOption(descriptor.rawValue, SOL_SOCKET, SO_RCVBUFFORCE, receiveBufferBytes, "SO_RCVBUFFORCE")
        } catch {
            try setSocketOption(descriptor.rawValue, SOL_SOCKET, SO_RCVBUF, receiveBufferBytes, "SO_RCVBUF")
        }
        // Best effort: without it the drops are merely not counted.
        _ = CTCPCopyShims_enable_drop_count(descriptor.rawValue)
    }

    /// Reads up to `limit` packets, calling `body` with each; stops early when none is left.
    func receive(limit: Int, _ body: (ArraySlice<UInt8>) -> Void) throws(SystemCallError) {
        for _ in 0..<limit {
            let result = try nonBlocking("recv(raw)") {
                buffer.withUnsafeMutableBytes {
                    CTCPCopyShims_recv_counting_drops(descriptor.rawValue, $0.baseAddress, $0.count, &kernelDropped)
                }
            }
            guard case .done(let count) = result else { return }
            body(buffer[0..<count])
        }
    }
}

/// The sending side of tcpcopy: a raw socket whose packets carry our own IP header
/// (IPPROTO_RAW implies IP_HDRINCL), so the target sees the real client's address.
final class RawSendSocket {
    let descriptor: FileDescriptor

    init(sendBufferBytes: Int32) throws(SystemCallError) {
        descriptor = FileDescriptor(
            try systemCall("socket(AF_INET, SOCK_RAW, IPPROTO_RAW)") {
                socket(AF_INET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(IPPROTO_RAW))
            })
        try setSocketOption(descriptor.rawValue, Int32(IPPROTO_IP), IP_HDRINCL, 1, "IP_HDRINCL")
        try setNonBlocking(descriptor.rawValue)
        do {
            try setSocketOption(descriptor.rawValue, SOL_SOCKET, SO_SNDBUFFORCE, sendBufferBytes, "SO_SNDBUFFORCE")
        } catch {
            try setSocketOption(descriptor.rawValue, SOL_SOCKET, SO_SNDBUF, sendBufferBytes, "SO_SNDBUF")
        }
    }

    /// Sends one whole IPv4 packet to `destination`. Errors are returned, not fatal: a full
    /// conntrack table (EPERM) or an oversized packet (EMSGSIZE) must cost one packet, not the
    /// process.
    func send(_ packet: [UInt8], to destination: IPv4Address) -> SystemCallError? {
        let address = socketAddress(destination.value, port: 0)
        let result = packet.withUnsafeBytes { bytes in
            withSocketAddress(address) { sockaddr, length in
                sendto(descriptor.rawValue, bytes.baseAddress, bytes.count, 0, sockaddr, length)
            }
        }
        return result < 0 ? SystemCallError("sendto(raw)", errno: errno) : nil
    }
}
