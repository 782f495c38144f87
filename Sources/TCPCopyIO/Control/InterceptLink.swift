import Glibc
import Logging
import TCPCopyCore

/// tcpcopy's connection to the intercept on one target: connect, version handshake, then a
/// non-blocking `ControlConnection`.
enum InterceptLink {
    /// Connects to `address:port` and completes the handshake, retrying while intercept is not
    /// up yet, for at most `attempts` tries `intervalMilliseconds` apart.
    static func connect(
        to address: IPv4Address, port: UInt16, attempts: Int, intervalMilliseconds: Int32,
        outputCapacity: Int, logger: Logger
    ) throws(SystemCallError) -> ControlConnection {
        var lastError = SystemCallError("connect", errno: ECONNREFUSED)
        for attempt in 1...max(1, attempts) {
            do {
                return try connectOnce(
                    to: address, port: port, timeoutMilliseconds: 2000, outputCapacity: outputCapacity)
            } catch {
                lastError = error
                logger.debug(
                    "intercept not reachable yet",
                    metadata: ["target": "\(address):\(port)", "attempt": "\(attempt)", "error": "\(error)"])
                if attempt < attempts { poll(nil, 0, intervalMilliseconds) }
            }
        }
        throw lastError
    }

    private static func connectOnce(
        to address: IPv4Address, port: UInt16, timeoutMilliseconds: Int32, outputCapacity: Int
    ) throws(SystemCallError) -> ControlConnection {
        let fd = FileDescriptor(
            try systemCall("socket(control)") {
                socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            })
        // Control messages are small and latency matters more than packing them.
        try setSocketOption(fd.rawValue, Int32(IPPROTO_TCP), TCP_NODELAY, 1, "TCP_NODELAY")
        try setNonBlocking(fd.rawValue)
        let target = socketAddress(address.value, port: port)
        let status = withSocketAddress(target) { Glibc.connect(fd.rawValue, $0, $1) }
        if status < 0 && errno != EINPROGRESS { throw SystemCallError("connect", errno: errno) }
        try waitFor(fd.rawValue, events: Int16(POLLOUT), timeoutMilliseconds: timeoutMilliseconds, call: "connect")
        var soError: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd.rawValue, SOL_SOCKET, SO_ERROR, &soError, &length)
        if soError != 0 { throw SystemCallError("connect", errno: soError) }

        let connection = ControlConnection(descriptor: fd, peer: "\(address):\(port)", outputCapacity: outputCapacity)
        connection.send(.hello(version: ControlMessage.protocolVersion))
        try connection.flush()
        var messages: [ControlMessage] = []
        let deadline = monotonicNow() + Int64(timeoutMilliseconds)
        while messages.isEmpty {
            let left = deadline - monotonicNow()
            guard left > 0 else { throw SystemCallError("handshake (no answer from intercept)", errno: ETIMEDOUT) }
            try waitFor(fd.rawValue, events: Int16(POLLIN), timeoutMilliseconds: Int32(left), call: "handshake")
            switch connection.read(into: &messages) {
            case .open: continue
            case .closed: throw SystemCallError("handshake (intercept closed the connection)", errno: ECONNRESET)
            case .corrupt: throw SystemCallError("handshake (not an intercept of this protocol)", errno: EPROTO)
            }
        }
        switch messages[0] {
        case .welcome: return connection
        case .goodbye(.unsupportedVersion):
            throw SystemCallError("handshake (intercept speaks another protocol version)", errno: EPROTO)
        case .goodbye(.notAllowed):
            throw SystemCallError("handshake (intercept refused this host)", errno: EACCES)
        default: throw SystemCallError("handshake (unexpected answer)", errno: EPROTO)
        }
    }

    private static func waitFor(_ fd: Int32, events: Int16, timeoutMilliseconds: Int32, call: String)
        throws(SystemCallError)
    {
        var request = pollfd(fd: fd, events: events, revents: 0)
        let ready = try systemCall("poll(\(call))") { poll(&request, 1, timeoutMilliseconds) }
        if ready == 0 { throw SystemCallError(call, errno: ETIMEDOUT) }
    }
}
