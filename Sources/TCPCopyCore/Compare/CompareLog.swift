/// The mismatch log (`--compare-log FILE`): one JSON object a line, flat, so that `jq`, a
/// spreadsheet or `tcpcopy report` read it:
///
///     {"session":"10.0.9.1:40312","exchange":3,"port":80,"request":"GET /status HTTP/1.1",
///      "outcome":"compare_first_line_differs",
///      "online_ending":"answered","online_first_line":"HTTP/1.1 200 OK","online_length":151,
///      "online_compared_length":116,"online_digest":"9a0c3f12","online_latency_us":812,
///      "target_ending":"answered","target_first_line":"HTTP/1.1 500 Internal Server Error",...}
///
/// (one line in the file). A value not known is `null`. Digests are 8 hex digits.
public struct CompareLogRecord: Equatable, Sendable {
    public var exchange: Exchange
    public var outcome: CompareOutcome

    public init(exchange: Exchange, outcome: CompareOutcome) {
        self.exchange = exchange
        self.outcome = outcome
    }
}

/// A log line that is not a record, with where and why.
public struct CompareLogError: Error, Equatable, CustomStringConvertible {
    public var column: Int
    public var reason: String
    public var description: String { "column \(column): \(reason)" }
}

/// Encodes and decodes `CompareLogRecord` lines, with a JSON reader and writer for this flat
/// schema only (strings, integers, null, booleans; no nesting).
public enum CompareLogCodec {
    /// The record as one JSON line, without the newline.
    public static func encode(_ record: CompareLogRecord) -> String {
        let exchange = record.exchange
        var fields: [(String, JSONValue)] = [
            ("session", .string(exchange.session)),
            ("exchange", .integer(Int64(exchange.number))),
            ("port", .integer(Int64(exchange.port))),
            ("request", exchange.requestFirstLine.map(JSONValue.string) ?? .null),
            ("outcome", .string(record.outcome.rawValue)),
        ]
        for (side, facts) in [("online", exchange.online), ("target", exchange.target)] {
            fields += [
                ("\(side)_ending", .string(facts.ending.rawValue)),
                ("\(side)_first_line", facts.firstLine.map(JSONValue.string) ?? .null),
                ("\(side)_length", .integer(Int64(clamping: facts.length))),
                ("\(side)_compared_length", .integer(Int64(clamping: facts.comparedLength))),
                ("\(side)_digest", facts.digest.map { .string(hex($0)) } ?? .null),
                ("\(side)_latency_us", facts.latencyMicroseconds.map { .integer(Int64(clamping: $0)) } ?? .null),
            ]
        }
        var line = "{"
        for (index, (name, value)) in fields.enumerated() {
            if index > 0 { line += "," }
            line += quoted(name) + ":" + value.json
        }
        return line + "}"
    }

    /// The record on `line`; unknown fields are ignored, so that later versions can add some.
    public static func decode(_ line: String) throws(CompareLogError) -> CompareLogRecord {
        let fields = try FlatJSONReader.object(Array(line.utf8))
        func string(_ name: String) throws(CompareLogError) -> String? {
            switch fields[name] {
            case .string(let text): return text
            case .null, nil: return nil
            default: throw CompareLogError(column: 0, reason: "\"\(name)\" is not a string")
            }
        }
        func integer(_ name: String, max: Int64 = .max) throws(CompareLogError) -> Int64? {
            switch fields[name] {
            case .integer(let value) where value >= 0 && value <= max: return value
            case .null, nil: return nil
            default: throw CompareLogError(column: 0, reason: "\"\(name)\" is not an integer in 0...\(max)")
            }
        }
        func required<T>(_ value: T?, _ name: String) throws(CompareLogError) -> T {
            guard let value else { throw CompareLogError(column: 0, reason: "\"\(name)\" is missing") }
            return value
        }
        func side(_ side: String) throws(CompareLogError) -> AnswerFacts {
            let endingName = try required(string("\(side)_ending"), "\(side)_ending")
            guard let ending = AnswerEnding(rawValue: endingName) else {
                throw CompareLogError(
                    column: 0, reason: "\"\(side)_ending\" is not one of answered, reset, closed, silent")
            }
            var digest: UInt32?
            if let text = try string("\(side)_digest") {
                guard text.utf8.count == 8, let value = UInt32(text, radix: 16) else {
                    throw CompareLogError(column: 0, reason: "\"\(side)_digest\" is not 8 hex digits")
                }
                digest = value
            }
            let length = try integer("\(side)_length") ?? 0
            return AnswerFacts(
                ending: ending, length: UInt64(length),
                comparedLength: try integer("\(side)_compared_length").map(UInt64.init) ?? UInt64(length),
                digest: digest, firstLine: try string("\(side)_first_line"),
                latencyMicroseconds: try integer("\(side)_latency_us").map(UInt64.init))
        }
        let outcomeName = try required(string("outcome"), "outcome")
        guard let outcome = CompareOutcome(rawValue: outcomeName) else {
            throw CompareLogError(column: 0, reason: "\"outcome\" \(outcomeName) is not a compare_ outcome")
        }
        let exchange = Exchange(
            session: try required(string("session"), "session"),
            number: UInt64(try required(integer("exchange"), "exchange")),
            port: UInt16(try required(integer("port", max: 65535), "port")),
            requestFirstLine: try string("request"), online: try side("online"), target: try side("target"))
        return CompareLogRecord(exchange: exchange, outcome: outcome)
    }

    static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let digits = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

/// A value of the flat schema.
enum JSONValue: Equatable, Sendable {
    case string(String)
    case integer(Int64)
    case bool(Bool)
    case null

    var json: String {
        switch self {
        case .string(let text): CompareLogCodec.quoted(text)
        case .integer(let value): "\(value)"
        case .bool(let value): value ? "true" : "false"
        case .null: "null"
        }
    }
}

/// Reads one JSON object whose values are strings, integers, booleans or null.
struct FlatJSONReader {
    private let bytes: [UInt8]
    private var position = 0

    static func object(_ bytes: [UInt8]) throws(CompareLogError) -> [String: JSONValue] {
        var reader = FlatJSONReader(bytes: bytes)
        return try reader.readObject()
    }

    private init(bytes: [UInt8]) { self.bytes = bytes }

    private func fail(_ reason: String) -> CompareLogError { CompareLogError(column: position + 1, reason: reason) }

    private mutating func skipSpace() {
        while position < bytes.count, [0x20, 0x09, 0x0D, 0x0A].contains(bytes[position]) { position += 1 }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(CompareLogError) {
        skipSpace()
        guard position < bytes.count, bytes[position] == byte else { throw fail("expected \(what)") }
        position += 1
    }

    private mutating func readObject() throws(CompareLogError) -> [String: JSONValue] {
        try expect(UInt8(ascii: "{"), "'{'")
        var fields: [String: JSONValue] = [:]
        skipSpace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
        } else {
            while true {
                skipSpace()
                let name = try readString()
                try expect(UInt8(ascii: ":"), "':'")
                fields[name] = try readValue()
                skipSpace()
                guard position < bytes.count else { throw fail("unterminated object") }
                let byte = bytes[position]
                position += 1
                if byte == UInt8(ascii: "}") { break }
                guard byte == UInt8(ascii: ",") else { throw fail("expected ',' or '}'") }
            }
        }
        skipSpace()
        guard position == bytes.count else { throw fail("text after the object") }
        return fields
    }

    private mutating func readValue() throws(CompareLogError) -> JSONValue {
        skipSpace()
        guard position < bytes.count else { throw fail("missing value") }
        switch bytes[position] {
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .integer(try readInteger())
        default:
            for (word, value) in [("null", JSONValue.null), ("true", .bool(true)), ("false", .bool(false))] {
                let utf8 = Array(word.utf8)
                if bytes[position...].starts(with: utf8) {
                    position += utf8.count
                    return value
                }
            }
            throw fail("unsupported value (this log holds strings, integers, booleans and null)")
        }
    }

    private mutating func readInteger() throws(CompareLogError) -> Int64 {
        let start = position
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
            position += 1
        }
        if position < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[position]) {
            throw fail("not an integer")
        }
        guard let value = Int64(String(decoding: bytes[start..<position], as: UTF8.self)) else {
            throw fail("integer out of range")
        }
        return value
    }

    private mutating func readString() throws(CompareLogError) -> String {
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a string") }
        position += 1
        var scalars = String.UnicodeScalarView()
        var raw: [UInt8] = []
        func flushRaw() {
            scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
            raw.removeAll()
        }
        while true {
            guard position < bytes.count else { throw fail("unterminated string") }
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                flushRaw()
                return String(scalars)
            case UInt8(ascii: "\\"):
                flushRaw()
                guard position < bytes.count else { throw fail("unterminated escape") }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(Unicode.Scalar(escape))
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "b"): scalars.append("\u{8}")
                case UInt8(ascii: "f"): scalars.append("\u{C}")
                case UInt8(ascii: "u"):
                    var code = try readHex4()
                    if (0xD800..<0xDC00).contains(code), bytes[position...].starts(with: Array("\\u".utf8)) {
                        position += 2
                        let low = try readHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw fail("unpaired surrogate") }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw fail("invalid \\u escape") }
                    scalars.append(scalar)
                default: throw fail("invalid escape")
                }
            case 0..<0x20:
                throw fail("control character in a string")
            default:
                raw.append(byte)
            }
        }
    }

    private mutating func readHex4() throws(CompareLogError) -> UInt32 {
        guard position + 4 <= bytes.count,
            let value = UInt32(String(decoding: bytes[position..<position + 4], as: UTF8.self), radix: 16)
        else { throw fail("invalid \\u escape") }
        position += 4
        return value
    }
}
