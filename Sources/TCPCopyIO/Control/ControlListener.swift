import Glibc
import TCPCopyCore

/// intercept's listening socket for tcpcopy control connections. Without `-b` it is one
/// dual-stack socket on `[::]` (`IPV6_V6ONLY` off), so that tcpcopy can connect over IPv4 and
/// IPv6 alike; IPv4 peers arrive as `::ffff:a.b.c.d` and are given back as IPv4 addresses, so
/// that the peer policy and the logs read as before. A host without IPv6, or `-b` with an IPv4
/// address, gets the IPv4 socket it always had.
final class ControlListener {
    let descriptor: FileDescriptor
    /// Whether the socket is the dual-stack one.
    let isDualStack: Bool

    init(bindAddress: IPv4Address?, port: UInt16) throws(SystemCallError) {
        if bindAddress == nil, let dual = try Self.dualStack(port: port) {
            descriptor = dual
            isDualStack = true
        } else {
            descriptor = FileDescriptor(
                try systemCall("socket(listener)") {
                    socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                })
            isDualStack = false
            try setSocketOption(descriptor.rawValue, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR")
            let address = socketAddress(bindAddress?.value ?? 0, port: port)
            try systemCall("bind(\(bindAddress.map(\.description) ?? "0.0.0.0"):\(port))") {
                withSocketAddress(address) { bind(descriptor.rawValue, $0, $1) }
            }
        }
        try systemCall("listen") { listen(descriptor.rawValue, 64) }
        try setNonBlocking(descriptor.rawValue)
    }

    /// The `[::]:port` socket, or nil when the host has no IPv6 (`EAFNOSUPPORT`, or `[::]`
    /// not bindable: IPv6 disabled); any other failure (the port in use) is thrown.
    private static func dualStack(port: UInt16) throws(SystemCallError) -> FileDescriptor? {
        let fd: Int32
        do {
            fd = try systemCall("socket(listener6)") {
                socket(AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            }
        } catch {
            return nil
        }
        let descriptor = FileDescriptor(fd)
        try setSocketOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR")
        // Off whatever net.ipv6.bindv6only says: one socket for both families.
        try setSocketOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, 0, "IPV6_V6ONLY")
        var address = unspecifiedIPv6SocketAddress(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
            }
        }
        if bound != 0 {
            let code = errno
            if code == EADDRNOTAVAIL || code == EAFNOSUPPORT { return nil }
            throw SystemCallError("bind([::]:\(port))", errno: code)
        }
        return descriptor
    }

    /// The next pending connection, already non-blocking, with its peer's address (IPv4 for an
    /// IPv4 peer of the dual-stack socket).
    func accept() throws(SystemCallError) -> (FileDescriptor, IPAddress, UInt16)? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let listening = descriptor.rawValue
        let result = try nonBlocking("accept") { () -> Int32 in
            withUnsafeMutablePointer(to: &storage) { pointer -> Int32 in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(listening, $0, &length) }
            }
        }
        guard case .done(let fd) = result else { return nil }
        let descriptor = FileDescriptor(fd)
        try setNonBlocking(fd)
        try setSocketOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1, "TCP_NODELAY")
        if storage.ss_family == sa_family_t(AF_INET6) {
            let (address, port) = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    (IPv6Address($0.pointee.sin6_addr), UInt16(bigEndian: $0.pointee.sin6_port))
                }
            }
            return (descriptor, address.mappedIPv4.map { .v4($0) } ?? .v6(address), port)
        }
        let (address, port) = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                (IPv4Address(UInt32(bigEndian: $0.pointee.sin_addr.s_addr)), UInt16(bigEndian: $0.pointee.sin_port))
            }
        }
        return (descriptor, .v4(address), port)
    }
}
