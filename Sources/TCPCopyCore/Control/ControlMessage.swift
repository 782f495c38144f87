/// The messages tcpcopy and intercept exchange over their TCP control connection.
/// The wire format is in docs/control-protocol.md.
public enum ControlMessage: Hashable, Sendable {
    /// tcpcopy → intercept, first message: the protocol version tcpcopy speaks.
    case hello(version: UInt16)
    /// intercept → tcpcopy: the version accepted; registrations may follow.
    case welcome(version: UInt16)
    /// Either side, before closing: why.
    case goodbye(GoodbyeReason)
    /// tcpcopy → intercept: send me the responses of this session. Sent before its SYN.
    case register(RouteKey)
    /// tcpcopy → intercept: the session is over; forget its route.
    case unregister(RouteKey)
    /// intercept → tcpcopy: the IP and TCP headers (options included) of one response.
    /// Boxed: its 192 bytes would otherwise be the size of every message and of every action
    /// tcpcopy's engine queues (`EngineAction.control`), copied on each append; tcpcopy reads
    /// responses without building this case (`ControlDecoder.nextEvent`).
    indirect case response(ResponseHeader)
    /// Either side: I am alive (sent when the connection is otherwise idle).
    case heartbeat
    /// intercept → tcpcopy, answering hello when intercept has a shared secret: a fresh
    /// `ControlHandshake.nonceLength`-byte nonce to prove the secret on.
    case challenge([UInt8])
    /// tcpcopy → intercept: `ControlHandshake.proof(secret:nonce:)`, 32 bytes.
    case proof([UInt8])
    /// intercept → tcpcopy: this registration is refused (the route stays with its owner, or
    /// a cap is reached); tcpcopy counts it.
    case refused(RouteKey, RegistrationRefusal)
    /// tcpcopy → intercept (version 3): compare this registered session's answers, that is,
    /// report its answer stream as `answerPiece`s (`tcpcopy --compare`).
    case compare(RouteKey)
    /// intercept → tcpcopy (version 3): a piece of a compared session's answer stream: offsets,
    /// length, CRC-32C and first bytes, never the whole payload. Boxed like `response`.
    indirect case answerPiece(AnswerPiece)
    /// tcpcopy → intercept (version 3), before its first `compare`: the header lines to leave
    /// out of the compared answers (`--compare-ignore-header`), names without colons.
    case compareConfig(maskedHeaders: [String])
    /// tcpcopy → intercept (version 3, with `--compare`): tcpcopy's monotonic clock in µs as
    /// it sent this, to be echoed (NTP's method: intercept's clock offset from tcpcopy's).
    case clockProbe(sentMicroseconds: UInt64)
    /// intercept → tcpcopy (version 3): a `clockProbe`'s stamp echoed, with intercept's
    /// monotonic clock in µs as it answered (the clock that stamps `answerPiece`s).
    case clockEcho(sentMicroseconds: UInt64, stampMicroseconds: UInt64)

    public static let protocolVersion: UInt16 = 4
}

/// Why intercept refused a registration.
public enum RegistrationRefusal: UInt16, Sendable, CaseIterable {
    /// Another live connection owns the key.
    case ownedByAnother = 1
    /// The connection holds `--max-routes-per-connection` routes already.
    case connectionCap = 2
    /// intercept holds `--max-routes` routes already.
    case totalCap = 3
    case unknown = 0xFFFF
}

/// The shared-secret proof of the handshake (`--secret-file`): HMAC-SHA256 of a nonce intercept
/// chose for this connection, keyed with the secret. The secret never crosses the wire, and a
/// recorded proof is worth nothing for the next connection's nonce.
public enum ControlHandshake {
    public static let nonceLength = 32
    public static let proofLength = 32
    /// Binds the proof to this protocol, so that it cannot be replayed from another use of the key.
    private static let label = Array("tcpcopy control v2 proof".utf8)

    public static func proof(secret: [UInt8], nonce: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticationCode(key: secret, message: label + nonce)
    }
}

/// Why a peer ends the control connection.
public enum GoodbyeReason: UInt16, Sendable, CaseIterable {
    case shuttingDown = 1
    case unsupportedVersion = 2
    case protocolError = 3
    case notAllowed = 4
    /// intercept holds its maximum of control connections: try again later.
    case tooManyConnections = 5
    /// The shared-secret proof was wrong or missing.
    case badSecret = 6
    /// No hello (or no proof) within the handshake's time.
    case handshakeTimeout = 7
    case unknown = 0xFFFF
}

/// The headers of one response packet, validated: IPv4, TCP, lengths consistent. Its bytes are
/// exactly the IP header and the TCP header with options; the IP total length field still says
/// how long the packet was, payload included.
///
/// The bytes are kept inline (`HeaderBytes`), not in an array: tcpcopy decodes one of these for
/// every packet the target sends, and an array each time was a heap allocation and a free per
/// response (docs/performance-history.md).
public struct ResponseHeader: Hashable, Sendable {
    public let headers: HeaderBytes
    public let packet: TCPPacket

    /// The header bytes as an array (a copy, for tests and logs).
    public var bytes: [UInt8] { headers.withUnsafeBytes { Array($0) } }

    /// Validates `bytes`; nil unless they are exactly an IPv4 header and a TCP header.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8, C.Index == Int {
        self.init(bytes, exactly: true)
    }

    /// The headers at the front of a packet (`bytes` may be longer, or hold only headers).
    public init?<C: Collection>(packetPrefix bytes: C) where C.Element == UInt8, C.Index == Int {
        self.init(bytes, exactly: false)
    }

    private init?<C: Collection>(_ bytes: C, exactly: Bool) where C.Element == UInt8, C.Index == Int {
        guard case .success(let packet) = TCPPacket.parse(bytes, requirePayload: false),
            !exactly || packet.headerLength == bytes.count,
            let headers = HeaderBytes(bytes.prefix(packet.headerLength))
        else { return nil }
        self.headers = headers
        self.packet = packet
    }
}

/// Up to 120 bytes (the longest IPv4 header, 60, and the longest TCP header, 60) stored in the
/// value itself, so that making one allocates nothing.
public struct HeaderBytes: Hashable, Sendable {
    public static let capacity = 120

    private var storage:
        (
            UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
            UInt64, UInt64, UInt64
        ) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    public let count: Int

    /// Nil when `bytes` are longer than `capacity`.
    public init?<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        // Arrays and their slices are copied in one go; other collections through an array.
        let made =
            bytes.withContiguousStorageIfAvailable { Self(UnsafeRawBufferPointer($0)) }
            ?? Array(bytes).withUnsafeBytes { Self($0) }
        guard let made else { return nil }
        self = made
    }

    /// Nil when `bytes` are longer than `capacity`.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count <= Self.capacity else { return nil }
        count = bytes.count
        withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) }
    }

    /// Calls `body` with the bytes (valid only during the call).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: storage) { try body(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
    }

    public static func == (lhs: HeaderBytes, rhs: HeaderBytes) -> Bool {
        lhs.count == rhs.count && lhs.withUnsafeBytes { l in rhs.withUnsafeBytes { r in l.elementsEqual(r) } }
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
