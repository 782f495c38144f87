import Glibc

/// Why tcpcopy could not set up its control link to an intercept: the socket calls failed, or
/// intercept answered the handshake with something other than welcome. Each description says
/// what the user can do about it.
public enum InterceptHandshakeError: Error, CustomStringConvertible, Sendable {
    /// A system call of the connection failed (socket, connect, send): intercept is down,
    /// unreachable, or the connection was reset.
    case connection(SystemCallError)
    /// The TCP connection was not made within the set-up time.
    case connectTimedOut
    /// intercept closed the connection during the handshake.
    case closedByIntercept
    /// The peer's bytes are not this control protocol.
    case notAnIntercept
    /// intercept asked for the shared secret and tcpcopy has none.
    case secretRequired
    /// intercept checked the secret's proof and refused it.
    case secretRefused
    /// intercept gave up waiting for the handshake.
    case timedOutByIntercept
    /// intercept has no free control connection slot (retried with backoff).
    case tooManyConnections
    /// intercept speaks another protocol version.
    case unsupportedVersion
    /// intercept's --tcpcopy-allow does not list this host.
    case notAllowed
    /// intercept did not answer within the set-up time.
    case noAnswer
    /// intercept answered with a message the handshake does not expect.
    case unexpectedAnswer

    /// A refusal that retrying will not change: only the user can (allow-list, secret).
    public var isRefusal: Bool {
        switch self {
        case .notAllowed, .secretRequired, .secretRefused: true
        default: false
        }
    }

    public var description: String {
        switch self {
        case .connection(let error): "\(error)"
        case .connectTimedOut: "connect failed: no connection within the set-up time"
        case .closedByIntercept: "handshake failed: intercept closed the connection"
        case .notAnIntercept: "handshake failed: not an intercept of this protocol"
        case .secretRequired:
            "handshake failed: intercept requires the shared secret: give tcpcopy the same --secret-file"
        case .secretRefused:
            "handshake failed: intercept refused the shared secret: --secret-file differs from intercept's"
        case .timedOutByIntercept: "handshake failed: intercept timed it out: it is overloaded, or the link is slow"
        case .tooManyConnections: "handshake failed: intercept has too many control connections; retrying"
        case .unsupportedVersion: "handshake failed: intercept speaks another protocol version"
        case .notAllowed: "handshake failed: intercept refused this host: add it to intercept --tcpcopy-allow"
        case .noAnswer: "handshake failed: no answer from intercept"
        case .unexpectedAnswer: "handshake failed: unexpected answer from intercept"
        }
    }
}
