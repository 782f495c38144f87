import Glibc
import Logging
import TCPCopyCore

/// tcpcopy's connection to the intercept on one target: a non-blocking connect, the version
/// handshake, then a `ControlConnection`. Nothing here blocks the event loop except
/// `connect(...)`, which tcpcopy uses once at start-up (it refuses to start without intercept).
final class InterceptLink {
    enum Stage: Equatable {
        /// The TCP connect is in progress (wait for writable).
        case connecting
        /// hello sent; waiting for welcome.
        case handshaking
        case established
    }

    /// What one step of the set-up came to.
    enum Progress {
        case waiting
        case established
        case failed(InterceptHandshakeError)
    }

    let connection: ControlConnection
    let target: String
    private(set) var stage: Stage = .connecting
    let deadline: MonotonicTime
    /// `--secret-file`: proven when intercept sends a challenge.
    private let secret: [UInt8]?

    /// Starts connecting to `address:port`; the set-up must be complete by `timeoutMilliseconds`.
    convenience init(
        to address: IPAddress, port: UInt16, timeoutMilliseconds: Int64, outputCapacity: Int,
        now: MonotonicTime, secret: [UInt8]? = nil
    ) throws(InterceptHandshakeError) {
        let fd: FileDescriptor
        do {
            fd = FileDescriptor(
                try systemCall("socket(control)") {
                    socket(
                        address.family == .ipv4 ? AF_INET : AF_INET6,
                        Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
                })
            // Control messages are small and latency matters more than packing them.
            try setSocketOption(fd.rawValue, Int32(IPPROTO_TCP), TCP_NODELAY, 1, "TCP_NODELAY")
            try setNonBlocking(fd.rawValue)
        } catch {
            throw .connection(error)
        }
        do {
            try systemCall("connect") { withSocketAddress(address, port: port) { Glibc.connect(fd.rawValue, $0, $1) } }
        } catch {
            // Non-blocking: EINPROGRESS is the usual answer, and `advance` learns the outcome
            // once the socket is writable.
            guard error.errno == EINPROGRESS else { throw .connection(error) }
        }
        self.init(
            descriptor: fd, peer: address.endpointDescription(port: port), timeoutMilliseconds: timeoutMilliseconds,
            outputCapacity: outputCapacity, now: now, secret: secret)
    }

    /// Sets up the link over `descriptor`, a non-blocking stream socket whose connect was
    /// started (or is complete: a socketpair in the tests).
    init(
        descriptor: FileDescriptor, peer: String, timeoutMilliseconds: Int64, outputCapacity: Int,
        now: MonotonicTime, secret: [UInt8]? = nil
    ) {
        self.secret = secret
        target = peer
        connection = ControlConnection(descriptor: descriptor, peer: peer, outputCapacity: outputCapacity, now: now)
        deadline = now + timeoutMilliseconds
    }

    var descriptor: Int32 { connection.descriptor.rawValue }

    /// Advances the set-up after the descriptor became writable or readable (or on a timer).
    func advance(now: MonotonicTime) -> Progress {
        if stage == .connecting {
            var soError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            do {
                try systemCall("getsockopt(SO_ERROR)") {
                    getsockopt(descriptor, SOL_SOCKET, SO_ERROR, &soError, &length)
                }
            } catch {
                return .failed(.connection(error))
            }
            if soError != 0 { return .failed(.connection(SystemCallError("connect", errno: soError))) }
            var peer = sockaddr_storage()
            var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            do {
                try systemCall("getpeername") {
                    withUnsafeMutablePointer(to: &peer) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                            getpeername(descriptor, $0, &peerLength)
                        }
                    }
                }
            } catch {
                // ENOTCONN: the connect is still under way.
                return now >= deadline ? .failed(.connectTimedOut) : .waiting
            }
            connection.send(.hello(version: ControlMessage.protocolVersion))
            do { try connection.flush() } catch { return .failed(.connection(error)) }
            connection.liveness.received(now: now)
            stage = .handshaking
        }
        guard stage == .handshaking else { return .established }
        var messages: [ControlMessage] = []
        switch connection.read(into: &messages, now: now) {
        case .open: break
        case .closed: return .failed(.closedByIntercept)
        case .corrupt: return .failed(.notAnIntercept)
        }
        var answer = messages.first
        if case .challenge(let nonce) = answer {
            guard let secret else { return .failed(.secretRequired) }
            connection.send(.proof(ControlHandshake.proof(secret: secret, nonce: nonce)))
            do { try connection.flush() } catch { return .failed(.connection(error)) }
            answer = messages.count > 1 ? messages[1] : nil
        }
        guard let first = answer else { return now >= deadline ? .failed(.noAnswer) : .waiting }
        switch first {
        case .welcome:
            stage = .established
            return .established
        case .goodbye(.badSecret): return .failed(.secretRefused)
        case .goodbye(.handshakeTimeout): return .failed(.timedOutByIntercept)
        case .goodbye(.tooManyConnections): return .failed(.tooManyConnections)
        case .goodbye(.unsupportedVersion): return .failed(.unsupportedVersion)
        case .goodbye(.notAllowed): return .failed(.notAllowed)
        default: return .failed(.unexpectedAnswer)
        }
    }

    /// Connects and completes the handshake, blocking, retrying while intercept is not up yet,
    /// for at most `attempts` tries `intervalMilliseconds` apart. For start-up only.
    static func connect(
        to address: IPAddress, port: UInt16, attempts: Int, intervalMilliseconds: Int32,
        outputCapacity: Int, logger: Logger, secret: [UInt8]? = nil
    ) throws(InterceptHandshakeError) -> ControlConnection {
        var lastError = InterceptHandshakeError.connection(SystemCallError("connect", errno: ECONNREFUSED))
        // A full intercept closes at once, so a later attempt may see only a reset: the busy
        // answer, once seen, is what the caller learns (it retries with backoff, not exits).
        var busy: InterceptHandshakeError?
        for attempt in 1...max(1, attempts) {
            do throws(InterceptHandshakeError) {
                let link = try InterceptLink(
                    to: address, port: port, timeoutMilliseconds: 2000, outputCapacity: outputCapacity,
                    now: monotonicNow(), secret: secret)
                while true {
                    switch link.advance(now: monotonicNow()) {
                    case .established: return link.connection
                    case .failed(let error): throw error
                    case .waiting:
                        var request = pollfd(
                            fd: link.descriptor, events: Int16(link.stage == .connecting ? POLLOUT : POLLIN),
                            revents: 0)
                        _ = try? systemCall("poll(control)") { poll(&request, 1, 100) }
                    }
                }
            } catch {
                lastError = error
                if case .tooManyConnections = error { busy = error }
                logger.debug(
                    "intercept not reachable yet",
                    metadata: ["target": "\(address.endpointDescription(port: port))", "attempt": "\(attempt)", "error": "\(error)"])
                // A refusal will not change by retrying.
                if error.isRefusal { break }
                if attempt < attempts { sleepMicroseconds(Int64(intervalMilliseconds) * 1000) }
            }
        }
        if let busy, !lastError.isRefusal { throw busy }
        throw lastError
    }
}
