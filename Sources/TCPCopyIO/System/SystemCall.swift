import Glibc
import TCPCopyCore

/// A failed system or library call: which call, and the errno it left.
public struct SystemCallError: Error, CustomStringConvertible, Sendable {
    public let call: String
    public let errno: Int32

    public init(_ call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    public var description: String { "\(call) failed: \(String(cString: strerror(errno))) (errno \(errno))" }

    /// Short name of the errno for counters and logs (`EPERM`, `EMSGSIZE`, ...).
    public var errnoName: String { Self.name(of: errno) }

    public static func name(of code: Int32) -> String {
        switch code {
        case EPERM: "EPERM"
        case EACCES: "EACCES"
        case EMSGSIZE: "EMSGSIZE"
        case ENOBUFS: "ENOBUFS"
        case EAGAIN: "EAGAIN"
        case ECONNREFUSED: "ECONNREFUSED"
        case ECONNRESET: "ECONNRESET"
        case EHOSTUNREACH: "EHOSTUNREACH"
        case ENETUNREACH: "ENETUNREACH"
        case EPIPE: "EPIPE"
        case EINVAL: "EINVAL"
        case EMFILE: "EMFILE"
        case ENFILE: "ENFILE"
        case ENOMEM: "ENOMEM"
        case EBUSY: "EBUSY"
        default: "errno\(code)"
        }
    }
}

/// The result of a call on a non-blocking descriptor.
public enum IOResult<Value> {
    case done(Value)
    case wouldBlock
}

/// Runs a call that returns -1 and sets errno on failure, retrying EINTR. Every syscall of the
/// project goes through here or `nonBlocking`, so errors always name their call.
@discardableResult
func systemCall<T: BinaryInteger>(_ name: String, _ body: () -> T) throws(SystemCallError) -> T {
    while true {
        let result = body()
        if result >= 0 { return result }
        let code = errno
        if code == EINTR { continue }
        throw SystemCallError(name, errno: code)
    }
}

/// Like `systemCall`, for a non-blocking descriptor: EAGAIN becomes `.wouldBlock`.
func nonBlocking<T: BinaryInteger>(_ name: String, _ body: () -> T) throws(SystemCallError) -> IOResult<T> {
    while true {
        let result = body()
        if result >= 0 { return .done(result) }
        let code = errno
        if code == EINTR { continue }
        if code == EAGAIN || code == EWOULDBLOCK { return .wouldBlock }
        throw SystemCallError(name, errno: code)
    }
}

/// The monotonic clock, for the core's timers.
func monotonicNow() -> MonotonicTime {
    MonotonicTime(milliseconds: monotonicMicroseconds() / 1000)
}

/// The monotonic clock in microseconds, for `WakeupWindow`.
func monotonicMicroseconds() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000
}

/// Sleeps `microseconds` (an interrupting signal ends the sleep early, which is harmless: the
/// caller only batches wake-ups with it).
func sleepMicroseconds(_ microseconds: Int64) {
    var request = timespec(tv_sec: Int(microseconds / 1_000_000), tv_nsec: Int(microseconds % 1_000_000) * 1000)
    _ = clock_nanosleep(CLOCK_MONOTONIC, 0, &request, nil)
}

/// Closes `fd` once, ignoring the result: on Linux the descriptor is released even when close
/// reports EINTR, so a retry could close a descriptor another thread has just been given, and
/// a cleanup has nothing better to do with an error. The one call not made through
/// `systemCall`.
func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}

func setNonBlocking(_ fd: Int32) throws(SystemCallError) {
    let flags = try systemCall("fcntl(F_GETFL)") { fcntl(fd, F_GETFL) }
    try systemCall("fcntl(F_SETFL)") { fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
}

func setSocketOption(_ fd: Int32, _ level: Int32, _ option: Int32, _ value: Int32, _ name: String)
    throws(SystemCallError)
{
    var value = value
    try systemCall("setsockopt(\(name))") {
        setsockopt(fd, level, option, &value, socklen_t(MemoryLayout<Int32>.size))
    }
}

/// Sets the socket's receive buffer to `bytes`: SO_RCVBUFFORCE lifts the sysctl cap (we are
/// root), and the capped SO_RCVBUF is the fallback.
func setReceiveBuffer(_ fd: Int32, bytes: Int32) throws(SystemCallError) {
    do {
        try setSocketOption(fd, SOL_SOCKET, SO_RCVBUFFORCE, bytes, "SO_RCVBUFFORCE")
    } catch {
        try setSocketOption(fd, SOL_SOCKET, SO_RCVBUF, bytes, "SO_RCVBUF")
    }
}

/// Sets the socket's send buffer to `bytes`, like `setReceiveBuffer`.
func setSendBuffer(_ fd: Int32, bytes: Int32) throws(SystemCallError) {
    do {
        try setSocketOption(fd, SOL_SOCKET, SO_SNDBUFFORCE, bytes, "SO_SNDBUFFORCE")
    } catch {
        try setSocketOption(fd, SOL_SOCKET, SO_SNDBUF, bytes, "SO_SNDBUF")
    }
}

func socketAddress(_ address: UInt32, port: UInt16) -> sockaddr_in {
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = port.bigEndian
    addr.sin_addr.s_addr = address.bigEndian
    return addr
}

/// Calls `body` with `address` seen as a generic `sockaddr`.
func withSocketAddress<R>(_ address: sockaddr_in, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    var address = address
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            body($0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
}
