/// Frames on the control connection. Every frame is
///
///     magic "TC" (2) | type (1) | flags (1) | body length (2) | checksum (2) | body
///
/// in network byte order. The checksum is the Internet checksum of the first six header bytes
/// and the body. Each type has a fixed body size or bound. A frame that breaks any rule means the
/// stream is corrupt: the decoder reports it and the caller drops the connection, because after
/// a lost byte nothing later in the stream can be trusted.
public enum ControlFrame {
    public static let headerLength = 8
    public static let magic: UInt16 = 0x5443  // "TC"
    /// Largest body any message has; anything longer is corruption.
    public static let maximumBodyLength = AnswerPieceCodec.fixedLength(ipv6: true) + AnswerPiece.headLimit
    /// The one flag (version 4): the frame's route key is IPv6, 36 bytes instead of 12. Set only
    /// on the frames that carry a key; any other flag is corruption.
    public static let ipv6KeyFlag: UInt8 = 0x01

    enum MessageType: UInt8 {
        case hello = 1, welcome = 2, goodbye = 3, register = 4, unregister = 5, response = 6
        case heartbeat = 7
        case challenge = 8, proof = 9, refused = 10
        case compare = 11, answerPiece = 12, compareConfig = 13
        case clockProbe = 14, clockEcho = 15

        /// The frames whose body starts with a route key, which may be IPv6 (`ipv6KeyFlag`).
        var carriesRouteKey: Bool {
            switch self {
            case .register, .unregister, .compare, .refused, .answerPiece: true
            default: false
            }
        }
    }
}

/// What is wrong with a control stream.
public enum ControlProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    case badMagic(UInt16)
    case unknownType(UInt8)
    case badFlags(UInt8)
    case badLength(type: UInt8, length: Int)
    case badChecksum
    case badBody(type: UInt8)

    public var description: String {
        switch self {
        case .badMagic(let m): "bad frame magic 0x\(String(m, radix: 16)) (stream out of sync)"
        case .unknownType(let t): "unknown message type \(t)"
        case .badFlags(let f): "non-zero flags \(f)"
        case .badLength(let t, let l): "body length \(l) is wrong for message type \(t)"
        case .badChecksum: "frame checksum mismatch"
        case .badBody(let t): "malformed body for message type \(t)"
        }
    }
}

public enum ControlEncoder {
    /// Appends the frame of `message` to `buffer`, with no temporary array: small bodies are
    /// written on the stack, and the frame is copied in with two appends.
    public static func encode(_ message: ControlMessage, into buffer: inout [UInt8]) {
        let type = type(of: message)
        switch message {
        case .hello(let version), .welcome(let version):
            appendFrame(type, bodyLength: 2, into: &buffer) { $0.storeBigEndian(version, at: 0) }
        case .goodbye(let reason):
            appendFrame(type, bodyLength: 2, into: &buffer) { $0.storeBigEndian(reason.rawValue, at: 0) }
        case .compareConfig(let names):
            CompareConfigCodec.body(names).withUnsafeBytes { appendFrame(.compareConfig, body: $0, into: &buffer) }
        case .answerPiece(let piece):
            let fixed = AnswerPieceCodec.fixedLength(ipv6: piece.key.isIPv6)
            appendFrame(type, flags: piece.key.frameFlags, bodyLength: fixed + piece.head.count, into: &buffer) {
                AnswerPieceCodec.write(piece, into: $0)
            }
        case .register(let key), .unregister(let key), .compare(let key):
            appendFrame(type, flags: key.frameFlags, bodyLength: key.encodedLength, into: &buffer) { body in
                key.write(into: body)
            }
        case .response(let header):
            header.headers.withUnsafeBytes { appendFrame(.response, body: $0, into: &buffer) }
        case .heartbeat:
            appendFrame(.heartbeat, body: UnsafeRawBufferPointer(start: nil, count: 0), into: &buffer)
        case .clockProbe(let sent):
            appendFrame(type, bodyLength: 8, into: &buffer) { $0.storeBigEndian(sent, at: 0) }
        case .clockEcho(let sent, let stamp):
            appendFrame(type, bodyLength: 16, into: &buffer) { body in
                body.storeBigEndian(sent, at: 0)
                body.storeBigEndian(stamp, at: 8)
            }
        case .challenge(let bytes), .proof(let bytes):
            // Exactly 32 bytes on the wire (shorter is padded with zeros, longer cut): the
            // decoder accepts no other length.
            let fixed = Array(bytes.prefix(32)) + [UInt8](repeating: 0, count: max(0, 32 - bytes.count))
            fixed.withUnsafeBytes { appendFrame(type, body: $0, into: &buffer) }
        case .refused(let key, let reason):
            appendFrame(type, flags: key.frameFlags, bodyLength: key.encodedLength + 2, into: &buffer) { body in
                key.write(into: body)
                body.storeBigEndian(reason.rawValue, at: key.encodedLength)
            }
        }
    }

    /// Appends the `answer_piece` frame of `piece` whose head bytes are `head` (at most
    /// `AnswerPiece.headLimit`, from the packet the piece was reported from): the frame
    /// `encode(.answerPiece(_))` makes of the same piece, with no head array nor message made.
    public static func encodeAnswerPiece(
        _ piece: ReportedPiece, head: UnsafeRawBufferPointer, into buffer: inout [UInt8]
    ) {
        let fixed = AnswerPieceCodec.fixedLength(ipv6: piece.key.isIPv6)
        appendFrame(.answerPiece, flags: piece.key.frameFlags, bodyLength: fixed + head.count, into: &buffer) {
            AnswerPieceCodec.write(piece, head: head, into: $0)
        }
    }

    /// Appends a `.response` frame whose body is `headers`, which must be the IP and TCP headers
    /// of one packet exactly as `ResponseHeader` accepts them. intercept forwards each response
    /// this way, from the bytes the kernel gave it.
    public static func encodeResponse(headers: UnsafeRawBufferPointer, into buffer: inout [UInt8]) {
        appendFrame(.response, body: headers, into: &buffer)
    }

    /// Appends a frame whose `bodyLength`-byte body `writeBody` writes, in a stack buffer.
    private static func appendFrame(
        _ type: ControlFrame.MessageType, flags: UInt8 = 0, bodyLength: Int, into buffer: inout [UInt8],
        _ writeBody: (UnsafeMutableRawBufferPointer) -> Void
    ) {
        withUnsafeTemporaryAllocation(byteCount: bodyLength, alignment: 1) { body in
            writeBody(body)
            appendFrame(type, flags: flags, body: UnsafeRawBufferPointer(body), into: &buffer)
        }
    }

    private static func appendFrame(
        _ type: ControlFrame.MessageType, flags: UInt8 = 0, body: UnsafeRawBufferPointer,
        into buffer: inout [UInt8]
    ) {
        // The checksum covers the header's first six bytes, as 16-bit words, and the body.
        var sum = InternetChecksum()
        sum.add(word: ControlFrame.magic)
        sum.add(word: UInt16(type.rawValue) << 8 | UInt16(flags))
        sum.add(word: UInt16(body.count))
        sum.add(body)
        let header =
            UInt64(ControlFrame.magic) << 48 | UInt64(type.rawValue) << 40 | UInt64(flags) << 32
            | UInt64(body.count) << 16 | UInt64(sum.value)
        withUnsafeBytes(of: header.bigEndian) { buffer.append(contentsOf: $0) }
        buffer.append(contentsOf: body)
    }

    public static func encode(_ message: ControlMessage) -> [UInt8] {
        var buffer: [UInt8] = []
        encode(message, into: &buffer)
        return buffer
    }

    private static func type(of message: ControlMessage) -> ControlFrame.MessageType {
        switch message {
        case .hello: .hello
        case .welcome: .welcome
        case .goodbye: .goodbye
        case .register: .register
        case .unregister: .unregister
        case .response: .response
        case .heartbeat: .heartbeat
        case .challenge: .challenge
        case .proof: .proof
        case .refused: .refused
        case .compare: .compare
        case .answerPiece: .answerPiece
        case .compareConfig: .compareConfig
        case .clockProbe: .clockProbe
        case .clockEcho: .clockEcho
        }
    }

    /// Checksum over header bytes 0..<6 and the body (the checksum field itself is skipped).
    static func checksum(_ buffer: [UInt8], frameStart: Int) -> UInt16 {
        let bodyLength = Int(buffer.readUInt16(at: frameStart + 4) ?? 0)
        var sum = InternetChecksum()
        buffer.withUnsafeBytes { raw in
            sum.add(UnsafeRawBufferPointer(rebasing: raw[frameStart..<(frameStart + 6)]))
            let body = frameStart + ControlFrame.headerLength
            sum.add(UnsafeRawBufferPointer(rebasing: raw[body..<(body + bodyLength)]))
        }
        return sum.value
    }
}

/// Reassembles frames from a byte stream fed in arbitrary pieces. It never consumes part of a
/// frame: `next()` returns nil until a whole frame is buffered.
public struct ControlDecoder: Sendable {
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Whole frames decoded so far: liveness counts frames, not bytes (a peer dripping one
    /// byte a second is not alive).
    public private(set) var framesDecoded = 0
    /// The flags byte of the frame `nextFrame` returned last.
    private var lastFlags: UInt8 = 0
    /// Set once the stream was found corrupt; the decoder refuses further input.
    public private(set) var failure: ControlProtocolError?

    public init() {}

    /// Bytes received but not yet decoded.
    public var bufferedCount: Int { buffer.count - readIndex }

    public mutating func append<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if readIndex > 0 && readIndex >= buffer.count / 2 {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        append(bytes.bindMemory(to: UInt8.self))
    }

    /// The next whole message, nil if more bytes are needed, or the error that makes the rest
    /// of the stream unusable.
    public mutating func next() throws(ControlProtocolError) -> ControlMessage? {
        try remembering { decoder throws(ControlProtocolError) in
            guard let (type, body) = try decoder.nextFrame() else { return nil }
            return try Self.decodeBody(decoder.buffer[body], type: type, ipv6Key: decoder.lastFlags != 0)
        }
    }

    /// Like `next`, but a response comes as its parsed packet only. tcpcopy reads one for every
    /// packet the target sends and needs nothing else of it: the header bytes are not copied out
    /// of the decoder's buffer, and no message is built.
    public mutating func nextEvent() throws(ControlProtocolError) -> ControlEvent? {
        try remembering { decoder throws(ControlProtocolError) in
            guard let (type, body) = try decoder.nextFrame() else { return nil }
            guard type == .response else {
                return .message(try Self.decodeBody(decoder.buffer[body], type: type, ipv6Key: decoder.lastFlags != 0))
            }
            return .response(try Self.responsePacket(decoder.buffer[body]))
        }
    }

    /// Runs `decode` on the decoder, remembering its error: after one, the decoder refuses the
    /// rest of the stream.
    private mutating func remembering<T>(
        _ decode: (inout ControlDecoder) throws(ControlProtocolError) -> T
    ) throws(ControlProtocolError) -> T {
        if let failure { throw failure }
        do {
            return try decode(&self)
        } catch {
            failure = error
            throw error
        }
    }

    /// The type and body of the next whole frame, whose header and checksum are valid; nil if
    /// more bytes are needed. The frame counts as read.
    private mutating func nextFrame() throws(ControlProtocolError) -> (ControlFrame.MessageType, Range<Int>)? {
        let available = buffer.count - readIndex
        guard available >= 2 else { return nil }
        let magic = buffer.readUInt16(at: readIndex)!
        guard magic == ControlFrame.magic else { throw .badMagic(magic) }
        guard available >= ControlFrame.headerLength else { return nil }
        let rawType = buffer[readIndex + 2]
        guard let type = ControlFrame.MessageType(rawValue: rawType) else {
            throw .unknownType(rawType)
        }
        let flags = buffer[readIndex + 3]
        guard flags == 0 || (flags == ControlFrame.ipv6KeyFlag && type.carriesRouteKey) else {
            throw .badFlags(flags)
        }
        let length = Int(buffer.readUInt16(at: readIndex + 4)!)
        guard Self.bodyLengthIsValid(length, for: type, ipv6Key: flags != 0) else {
            throw .badLength(type: rawType, length: length)
        }
        guard available >= ControlFrame.headerLength + length else { return nil }
        guard buffer.readUInt16(at: readIndex + 6)! == ControlEncoder.checksum(buffer, frameStart: readIndex)
        else { throw .badChecksum }
        let bodyStart = readIndex + ControlFrame.headerLength
        readIndex = bodyStart + length
        lastFlags = flags
        framesDecoded += 1
        return (type, bodyStart..<readIndex)
    }

    private static func bodyLengthIsValid(_ length: Int, for type: ControlFrame.MessageType, ipv6Key: Bool) -> Bool {
        let key = RouteKey.encodedLength(ipv6: ipv6Key)
        return switch type {
        case .hello, .welcome, .goodbye: length == 2
        case .register, .unregister, .compare: length == key
        case .response: length >= 40 && length <= HeaderBytes.capacity
        case .answerPiece:
            length >= AnswerPieceCodec.fixedLength(ipv6: ipv6Key)
                && length <= AnswerPieceCodec.fixedLength(ipv6: ipv6Key) + AnswerPiece.headLimit
        case .compareConfig: length <= ControlFrame.maximumBodyLength
        case .heartbeat: length == 0
        case .clockProbe: length == 8
        case .clockEcho: length == 16
        case .challenge, .proof: length == 32
        case .refused: length == key + 2
        }
    }

    private static func decodeBody(_ body: ArraySlice<UInt8>, type: ControlFrame.MessageType, ipv6Key: Bool)
        throws(ControlProtocolError) -> ControlMessage
    {
        switch type {
        case .hello: return .hello(version: body.readUInt16(at: 0)!)
        case .welcome: return .welcome(version: body.readUInt16(at: 0)!)
        case .goodbye:
            return .goodbye(GoodbyeReason(rawValue: body.readUInt16(at: 0)!) ?? .unknown)
        case .compareConfig:
            return .compareConfig(maskedHeaders: CompareConfigCodec.names(body))
        case .answerPiece:
            guard let piece = AnswerPieceCodec.read(body, ipv6: ipv6Key) else { throw .badBody(type: type.rawValue) }
            return .answerPiece(piece)
        case .register, .unregister, .refused, .compare:
            let key = RouteKey.read(body, ipv6: ipv6Key)
            if type == .refused {
                let reason = body.readUInt16(at: key.encodedLength)!
                return .refused(key, RegistrationRefusal(rawValue: reason) ?? .unknown)
            }
            if type == .compare { return .compare(key) }
            return type == .register ? .register(key) : .unregister(key)
        case .challenge: return .challenge(Array(body))
        case .proof: return .proof(Array(body))
        case .response:
            guard let header = ResponseHeader(bytes: body) else {
                throw .badBody(type: type.rawValue)
            }
            return .response(header)
        case .heartbeat: return .heartbeat
        case .clockProbe: return .clockProbe(sentMicroseconds: body.readUInt64(at: 0))
        case .clockEcho:
            return .clockEcho(sentMicroseconds: body.readUInt64(at: 0), stampMicroseconds: body.readUInt64(at: 8))
        }
    }

    /// A response body's packet: exactly an IP header (IPv6: the fixed one, no extension
    /// headers) and a TCP header, as `ResponseHeader` accepts them.
    private static func responsePacket(_ body: ArraySlice<UInt8>) throws(ControlProtocolError) -> TCPPacket {
        guard case .success(let packet) = TCPPacket.parse(body, requirePayload: false),
            packet.headerLength == body.count
        else { throw .badBody(type: ControlFrame.MessageType.response.rawValue) }
        return packet
    }
}

extension ArraySlice<UInt8> {
    /// The big-endian 64-bit integer at `offset` from the slice's start (the caller checked the length).
    fileprivate func readUInt64(at offset: Int) -> UInt64 {
        UInt64(readUInt32(at: offset)!) << 32 | UInt64(readUInt32(at: offset + 4)!)
    }
}

/// One message from the control stream, as `ControlDecoder.nextEvent` hands it over.
public enum ControlEvent: Sendable {
    /// The target's response: its IP and TCP headers, parsed.
    case response(TCPPacket)
    /// Any other message.
    case message(ControlMessage)
}

/// The body of an `answer_piece` frame (docs/control-protocol.md): route key (12, or 36 for an
/// IPv6 key), then sequence offset (4), acknowledgment offset (4), length (2), digested length
/// (2), CRC-32C (4), flags (1), stamp (8), head length (1), then the head bytes. (The digested
/// length is the piece's length once masked header lines are left out.)
public enum AnswerPieceCodec {
    /// The bytes before the head.
    public static func fixedLength(ipv6: Bool) -> Int { RouteKey.encodedLength(ipv6: ipv6) + 26 }
    /// In the flags byte, beside FIN (0x01) and RST (0x04): the piece starts an HTTP/1.x answer.
    static let startsAnswerFlag: UInt8 = 0x80

    static func write(_ piece: AnswerPiece, into body: UnsafeMutableRawBufferPointer) {
        let fields = ReportedPiece(
            key: piece.key, sequenceOffset: piece.sequenceOffset, acknowledgmentOffset: piece.acknowledgmentOffset,
            length: piece.length, digestedLength: piece.digestedLength, crc: piece.crc, flags: piece.flags,
            stampMicroseconds: piece.stampMicroseconds, head: 0..<piece.head.count, startsAnswer: piece.startsAnswer)
        piece.head.withUnsafeBytes { write(fields, head: $0, into: body) }
    }

    /// The body of `piece` with `head` as its head bytes (`piece.head` is not read).
    static func write(_ piece: ReportedPiece, head: UnsafeRawBufferPointer, into body: UnsafeMutableRawBufferPointer) {
        piece.key.write(into: body)
        let at = piece.key.encodedLength
        body.storeBigEndian(piece.sequenceOffset, at: at)
        body.storeBigEndian(piece.acknowledgmentOffset, at: at + 4)
        body.storeBigEndian(piece.length, at: at + 8)
        body.storeBigEndian(piece.digestedLength, at: at + 10)
        body.storeBigEndian(piece.crc, at: at + 12)
        body[at + 16] = piece.flags.intersection([.fin, .rst]).rawValue | (piece.startsAnswer ? startsAnswerFlag : 0)
        body.storeBigEndian(piece.stampMicroseconds, at: at + 17)
        body[at + 25] = UInt8(head.count)
        UnsafeMutableRawBufferPointer(rebasing: body[(at + 26)...]).copyMemory(from: head)
    }

    /// Nil when the head length disagrees with the body's, or is over `AnswerPiece.headLimit`.
    static func read(_ body: ArraySlice<UInt8>, ipv6: Bool) -> AnswerPiece? {
        let start = body.startIndex
        let at = RouteKey.encodedLength(ipv6: ipv6)
        let fixed = fixedLength(ipv6: ipv6)
        guard body.count >= fixed else { return nil }
        let headLength = Int(body[start + at + 25])
        guard headLength <= AnswerPiece.headLimit, body.count == fixed + headLength else { return nil }
        let key = RouteKey.read(body, ipv6: ipv6)
        let stamp = UInt64(body.readUInt32(at: at + 17)!) << 32 | UInt64(body.readUInt32(at: at + 21)!)
        let length = body.readUInt16(at: at + 8)!
        let digested = body.readUInt16(at: at + 10)!
        guard digested <= length else { return nil }
        return AnswerPiece(
            key: key, sequenceOffset: body.readUInt32(at: at)!, acknowledgmentOffset: body.readUInt32(at: at + 4)!,
            length: length, digestedLength: digested, crc: body.readUInt32(at: at + 12)!,
            flags: TCPFlags(rawValue: body[start + at + 16]).intersection([.fin, .rst]), stampMicroseconds: stamp,
            head: Array(body[(start + fixed)...]), startsAnswer: body[start + at + 16] & startsAnswerFlag != 0)
    }
}

/// The body of a `compare_config` frame: the masked header names, each followed by a LF.
public enum CompareConfigCodec {
    /// The names that fit in one frame, in order (`TCPCopyCLI` refuses lists that do not fit).
    static func body(_ names: [String]) -> [UInt8] {
        var body: [UInt8] = []
        for name in names {
            let bytes = Array(name.utf8) + [0x0A]
            guard body.count + bytes.count <= ControlFrame.maximumBodyLength else { break }
            body += bytes
        }
        return body
    }

    /// Whether `names` fit in one frame.
    public static func fits(_ names: [String]) -> Bool {
        names.reduce(0) { $0 + $1.utf8.count + 1 } <= ControlFrame.maximumBodyLength
    }

    static func names(_ body: ArraySlice<UInt8>) -> [String] {
        body.split(separator: 0x0A).map { String(decoding: $0, as: UTF8.self) }
    }
}
