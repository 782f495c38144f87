/// Finds where HTTP/1.x messages begin in one direction of a connection, so that pipelined
/// requests and their answers are compared one by one rather than per gated batch.
///
/// A state machine over the stream's bytes, fed in order however they were cut: it keeps a few
/// counters, never the bytes. Requests: a request line ending in `HTTP/1.0` or `HTTP/1.1`,
/// headers, then a `Content-Length` or chunked body (none otherwise). Answers: a status line
/// starting `HTTP/1.`, headers, then no body for 1xx, 204 and 304, a chunked or
/// `Content-Length` body, or a body up to the connection's close when neither is given. A 1xx
/// answer and the answer after it are one answer (they answer one request). A HEAD request's
/// answer names a length it does not send; the framer sees answers only, so it takes a body
/// whose first bytes are `HTTP/1.` for the next answer (a body's first 7 bytes cut across two
/// reads are not looked at that way: see docs/compare.md).
///
/// Anything else (another protocol, a malformed line, a gap the caller could not fill) stops
/// the framing for good: `isFraming` turns false and the caller compares what is left as one.
public struct HTTPMessageFramer: Sendable {
    public enum Kind: Sendable {
        case request
        case answer
    }

    private enum State: Sendable, Equatable {
        /// The next byte starts a message.
        case awaiting
        case startLine
        case lineStart
        case lineStartCR
        case name
        case value
        /// An answer's body is about to start: it may be the next answer instead (HEAD).
        case bodyPeek
        case body
        case chunkSize
        case chunkExtension
        case chunkData
        case chunkDataEnd
        case trailerLineStart
        case trailerLine
        /// No more messages can be found (a close-delimited answer, a protocol switch, or not HTTP).
        case stopped
    }

    private enum Header: Sendable {
        case contentLength
        case transferEncoding
        case other
    }

    /// The longest start line or header block looked at; longer is not taken for HTTP.
    public static let lineLimit = 8192
    public static let headLimit = 65_536

    public let kind: Kind
    private var state: State = .awaiting
    /// The message that ended was an interim (1xx) answer: the next one answers the same request.
    private var afterInterim = false
    private var lineLength = 0
    private var headLength = 0
    private var status = 0
    /// The start line's or header value's last 8 bytes (header values lowercased, blanks out).
    private var tail: UInt64 = 0
    private var nameLength = 0
    /// Whether the header name read so far is a prefix of `content-length`, of `transfer-encoding`.
    private var mayBeLength = false
    private var mayBeEncoding = false
    private var header: Header = .other
    private var contentLength: UInt64?
    private var chunked = false
    private var remaining: UInt64 = 0
    private var digits = 0
    /// Messages whose start was found, the first one included.
    public private(set) var messages = 0

    public init(kind: Kind) { self.kind = kind }

    /// Whether messages are still being found.
    public var isFraming: Bool { state != .stopped }

    /// Whether the next byte read starts a message that answers (or is) a request of its own:
    /// false after an interim answer, whose final answer answers the same request.
    public var atMessageStart: Bool { state == .awaiting && !afterInterim }

    /// Reads the stream's next bytes, as many as belong to the message being read: all of them,
    /// or up to where the next message begins (then `atMessageStart` is true and the caller
    /// reads the rest again). Returns 0 only when the message being read ended right before
    /// `bytes` (a HEAD request's answer, seen to end when the next one begins): `atMessageStart`
    /// is then true.
    public mutating func read<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes) -> Int where Bytes.Index == Int {
        var index = bytes.startIndex
        let end = bytes.endIndex
        while index < end {
            switch state {
            case .stopped:
                return end - bytes.startIndex
            case .body, .chunkData:
                let take = Int(min(remaining, UInt64(end - index)))
                remaining -= UInt64(take)
                index += take
                if remaining == 0 {
                    if state == .chunkData {
                        state = .chunkDataEnd
                    } else {
                        state = .awaiting
                        return index - bytes.startIndex
                    }
                }
            case .bodyPeek:
                if Self.startsAnswer(bytes[index..<end]) {
                    // A HEAD request's answer: the next answer follows its head.
                    state = .awaiting
                    return index - bytes.startIndex
                }
                state = chunked ? .chunkSize : .body
                remaining = chunked ? 0 : contentLength ?? 0
                digits = 0
            case .awaiting:
                guard index == bytes.startIndex else { return index - bytes.startIndex }
                startMessage()
                step(bytes[index])
                index += 1
            case .name where !mayBeLength && !mayBeEncoding:
                // The name of a header not looked at (known from its first bytes), skipped to its
                // colon at once.
                let next = Self.firstIndex(of: Self.colon, or: Self.lf, in: bytes, from: index, to: end)
                headLength += next - index
                nameLength += next - index
                index = next
                if index < end {
                    step(bytes[index])
                    index += 1
                }
            case .value where header == .other:
                // Most of a head: the values of headers not looked at, skipped to their line's end.
                let next = Self.firstIndex(of: Self.lf, or: Self.lf, in: bytes, from: index, to: end)
                headLength += next - index
                index = next
                if index < end {
                    step(bytes[index])
                    index += 1
                }
            default:
                step(bytes[index])
                index += 1
                if state == .awaiting { return index - bytes.startIndex }
            }
        }
        return end - bytes.startIndex
    }

    /// Static strings, not arrays: read per byte, a `static let` array costs a `swift_once`
    /// check and a bounds check each time, a static string's bytes are a constant pointer.
    private static let answerPrefix: StaticString = "HTTP/1."

    /// The index of the first of `bytes[start..<end]` that is `first` or `second`, or `end`.
    /// Eight bytes a step where the bytes are contiguous (each compared at once, the "has a zero
    /// byte" test on the word XORed with the byte repeated): most of an answer's head is lines
    /// skipped to their end.
    @inline(__always)
    private static func firstIndex<Bytes: RandomAccessCollection<UInt8>>(
        of first: UInt8, or second: UInt8, in bytes: Bytes, from start: Int, to end: Int
    ) -> Int where Bytes.Index == Int {
        let found = bytes.withContiguousStorageIfAvailable { buffer in
            let raw = UnsafeRawBufferPointer(buffer)
            let base = bytes.startIndex
            let limit = end - base
            let ones: UInt64 = 0x0101_0101_0101_0101
            let firsts = ones &* UInt64(first)
            let seconds = ones &* UInt64(second)
            var index = start - base
            while index + 8 <= limit {
                let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                let a = word ^ firsts
                let b = word ^ seconds
                // Nonzero exactly when some byte of `a` or `b` is zero (a match in this word).
                if ((a &- ones) & ~a | (b &- ones) & ~b) & (ones << 7) != 0 { break }
                index += 8
            }
            while index < limit, raw[index] != first, raw[index] != second { index += 1 }
            return index + base
        }
        if let found { return found }
        var index = start
        while index < end, bytes[index] != first, bytes[index] != second { index += 1 }
        return index
    }

    /// Whether `bytes` start like a status line (all of them do, when fewer than its prefix).
    private static func startsAnswer(_ bytes: some Collection<UInt8>) -> Bool {
        var index = bytes.startIndex
        for offset in 0..<answerPrefix.utf8CodeUnitCount {
            guard index < bytes.endIndex else { return true }
            guard bytes[index] == answerPrefix.utf8Start[offset] else { return false }
            index = bytes.index(after: index)
        }
        return true
    }

    private mutating func startMessage() {
        state = .startLine
        messages += afterInterim ? 0 : 1
        afterInterim = false
        lineLength = 0
        headLength = 0
        status = 0
        tail = 0
        contentLength = nil
        chunked = false
    }

    private mutating func stop() { state = .stopped }

    /// Stops the framing (the caller lost bytes of the stream).
    public mutating func abandon() { stop() }

    private mutating func step(_ byte: UInt8) {
        headLength += 1
        if headLength > Self.headLimit, state != .chunkSize, state != .chunkExtension, state != .chunkDataEnd,
            state != .trailerLineStart, state != .trailerLine
        {
            return stop()
        }
        switch state {
        case .startLine:
            startLineByte(byte)
        case .lineStart:
            if byte == Self.cr {
                state = .lineStartCR
            } else if byte == Self.lf {
                headEnded()
            } else if byte == 0x20 || byte == 0x09 {
                stop()  // obsolete line folding: not followed
            } else {
                nameLength = 0
                mayBeLength = true
                mayBeEncoding = true
                state = .name
                step(byte)
                headLength -= 1
            }
        case .lineStartCR:
            if byte == Self.lf { headEnded() } else { stop() }
        case .name:
            if byte == Self.colon {
                header = headerNamed()
                tail = 0
                digits = 0
                state = .value
            } else if byte == Self.lf {
                stop()
            } else {
                let lower = Self.lowercased(byte)
                mayBeLength =
                    mayBeLength && nameLength < Self.lengthName.utf8CodeUnitCount
                    && Self.lengthName.utf8Start[nameLength] == lower
                mayBeEncoding =
                    mayBeEncoding && nameLength < Self.encodingName.utf8CodeUnitCount
                    && Self.encodingName.utf8Start[nameLength] == lower
                nameLength += 1
            }
        case .value:
            valueByte(byte)
        case .chunkSize:
            if let digit = Self.hexDigit(byte) {
                guard digits < 15 else { return stop() }
                remaining = remaining << 4 | UInt64(digit)
                digits += 1
            } else if byte == Self.semicolon {
                state = .chunkExtension
            } else if byte == Self.lf {
                chunkSizeEnded()
            } else if byte != Self.cr && byte != 0x20 && byte != 0x09 {
                stop()
            }
        case .chunkExtension:
            if byte == Self.lf { chunkSizeEnded() }
        case .chunkDataEnd:
            if byte == Self.lf {
                state = .chunkSize
                remaining = 0
                digits = 0
            } else if byte != Self.cr {
                stop()
            }
        case .trailerLineStart:
            if byte == Self.lf {
                messageEnded()
            } else if byte != Self.cr {
                state = .trailerLine
            }
        case .trailerLine:
            if byte == Self.lf { state = .trailerLineStart }
        case .awaiting, .bodyPeek, .body, .chunkData, .stopped:
            break
        }
    }

    private mutating func startLineByte(_ byte: UInt8) {
        lineLength += 1
        guard lineLength <= Self.lineLimit else { return stop() }
        switch kind {
        case .answer:
            // "HTTP/1.x NNN ..."
            if lineLength <= 7 {
                guard byte == Self.answerPrefix.utf8Start[lineLength - 1] else { return stop() }
            } else if lineLength == 8 {
                guard Self.isDigit(byte) else { return stop() }
            } else if lineLength == 9 {
                guard byte == 0x20 else { return stop() }
            } else if lineLength <= 12 {
                guard Self.isDigit(byte) else { return stop() }
                status = status * 10 + Int(byte - 0x30)
            } else if lineLength == 13 {
                guard byte == 0x20 || byte == Self.cr || byte == Self.lf else { return stop() }
            }
            if byte == Self.lf {
                guard lineLength >= 13 else { return stop() }
                state = .lineStart
            }
        case .request:
            // "METHOD target HTTP/1.x": an upper-case token, then the version at the line's end.
            if lineLength == 1 {
                guard Self.isUpper(byte) else { return stop() }
                digits = 0
            }
            if digits == 0 {
                if byte == 0x20 {
                    digits = 1
                } else if !Self.isUpper(byte) && byte != 0x2D && byte != 0x5F {
                    return stop()
                }
            }
            if byte == Self.lf {
                guard digits == 1, tail == Self.http10 || tail == Self.http11 else { return stop() }
                state = .lineStart
            } else if byte != Self.cr {
                tail = tail << 8 | UInt64(byte)
            }
        }
    }

    private mutating func valueByte(_ byte: UInt8) {
        if byte == Self.lf {
            switch header {
            case .contentLength:
                guard digits > 0 else { return stop() }
                contentLength = remaining
            case .transferEncoding:
                if tail & 0x00FF_FFFF_FFFF_FFFF == Self.chunkedWord { chunked = true }
            case .other:
                break
            }
            remaining = 0
            state = .lineStart
            return
        }
        switch header {
        case .contentLength:
            if Self.isDigit(byte) {
                guard digits < 18 else { return stop() }
                remaining = (digits == 0 ? 0 : remaining) * 10 + UInt64(byte - 0x30)
                digits += 1
            } else if byte != 0x20 && byte != 0x09 && byte != Self.cr {
                stop()
            }
        case .transferEncoding:
            if byte != 0x20 && byte != 0x09 && byte != Self.cr { tail = tail << 8 | UInt64(Self.lowercased(byte)) }
        case .other:
            break
        }
    }

    private func headerNamed() -> Header {
        if mayBeLength && nameLength == Self.lengthName.utf8CodeUnitCount { return .contentLength }
        if mayBeEncoding && nameLength == Self.encodingName.utf8CodeUnitCount { return .transferEncoding }
        return .other
    }

    private mutating func headEnded() {
        if kind == .request {
            if chunked {
                state = .chunkSize
                remaining = 0
                digits = 0
            } else if let length = contentLength, length > 0 {
                state = .body
                remaining = length
            } else {
                messageEnded()
            }
            return
        }
        switch status {
        case 101:
            stop()  // another protocol follows
        case 100..<200:
            state = .awaiting
            afterInterim = true
        case 204, 304:
            messageEnded()
        default:
            if chunked || (contentLength ?? 0) > 0 {
                state = .bodyPeek
            } else if contentLength == 0 {
                messageEnded()
            } else {
                stop()  // the body ends at the connection's close
            }
        }
    }

    private mutating func chunkSizeEnded() {
        guard digits > 0 else { return stop() }
        if remaining == 0 {
            state = .trailerLineStart
        } else {
            state = .chunkData
        }
    }

    private mutating func messageEnded() {
        state = .awaiting
        afterInterim = false
    }

    // MARK: bytes

    private static let cr: UInt8 = 0x0D
    private static let lf: UInt8 = 0x0A
    private static let colon: UInt8 = 0x3A
    private static let semicolon: UInt8 = 0x3B
    private static let http10 = packed("HTTP/1.0")
    private static let http11 = packed("HTTP/1.1")
    private static let chunkedWord = packed("chunked")
    private static let lengthName: StaticString = "content-length"
    private static let encodingName: StaticString = "transfer-encoding"

    private static func packed(_ text: String) -> UInt64 {
        text.utf8.suffix(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }
    private static func isUpper(_ byte: UInt8) -> Bool { (0x41...0x5A).contains(byte) }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        (0x41...0x5A).contains(byte) ? byte | 0x20 : byte
    }
}
