import Glibc
import TCPCopyCore

/// intercept's listening socket for tcpcopy control connections.
final class ControlListener {
    let descriptor: FileDescriptor

    init(bindAddress: IPv4Address?, port: UInt16) throws(SystemCallError) {
        descriptor = FileDescriptor(
            try systemCall("socket(listener)") {
                socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            })
        try setSocketOption(descriptor.rawValue, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR")
        let address = socketAddress(bindAddress?.value ?? 0, port: port)
        try systemCall("bind(\(bindAddress.map(\.description) ?? "0.0.0.0"):\(port))") {
            withSocketAddress(address) { bind(descriptor.rawValue, $0, $1) }
        }
        try systemCall("listen") { listen(descriptor.rawValue, 64) }
        try setNonBlocking(descriptor.rawValue)
    }

    /// The next pending connection, already non-blocking, with its peer's address.
    func accept() throws(SystemCallError) -> (FileDescriptor, IPv4Address, UInt16)? {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = descriptor.rawValue
        let result = try nonBlocking("accept") { () -> Int32 in
            withUnsafeMutablePointer(to: &address) { pointer -> Int32 in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(listening, $0, &length) }
            }
        }
        guard case .done(let fd) = result else { return nil }
        let descriptor = FileDescriptor(fd)
        try setNonBlocking(fd)
        try setSocketOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1, "TCP_NODELAY")
        return (
            descriptor, IPv4Address(UInt32(bigEndian: address.sin_addr.s_addr)), UInt16(bigEndian: address.sin_port)
        )
    }
}
