/// The first line of a text answer or request (an HTTP status or request line, redis `+OK`,
/// `-ERR ...` or `:1`, an SMTP `250 ...` reply): printable ASCII up to CR LF or LF, at most
/// `limit` characters. Binary data has none.
public enum TextFirstLine {
    /// The longest first line kept; a longer one is cut there.
    public static let limit = 120

    /// The first line of `bytes`, or nil when they do not start with printable ASCII.
    public static func extract<Bytes: Sequence<UInt8>>(_ bytes: Bytes, limit: Int = limit) -> String? {
        var line: [UInt8] = []
        for byte in bytes {
            if byte == 0x0D || byte == 0x0A { break }
            guard (0x20...0x7E).contains(byte) || byte == 0x09 else { return nil }
            guard line.count < limit else { break }
            line.append(byte)
        }
        guard !line.isEmpty else { return nil }
        return String(decoding: line, as: UTF8.self)
    }

    /// `extract` of bytes held in an array: the line is decoded where it lies.
    public static func extract(_ bytes: [UInt8], limit: Int = limit) -> String? {
        let line = line(in: bytes, limit: limit)
        return line.isEmpty ? nil : String(decoding: line, as: UTF8.self)
    }

    /// The bytes of `extract`'s line, where they lie in `bytes`; empty when it has none.
    public static func line(in bytes: [UInt8], limit: Int = limit) -> ArraySlice<UInt8> {
        var count = 0
        for byte in bytes {
            if byte == 0x0D || byte == 0x0A { break }
            guard (0x20...0x7E).contains(byte) || byte == 0x09 else { return [] }
            guard count < limit else { break }
            count += 1
        }
        return bytes[..<count]
    }

    /// The summary key of a request: "METHOD /path" (no query) for an HTTP request line, nil
    /// otherwise (the caller then keys by port).
    public static func httpKey(ofRequestLine line: String) -> String? {
        let parts = line.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[2].hasPrefix("HTTP/"), !parts[0].isEmpty,
            parts[0].allSatisfy({ $0.isASCII && $0.isUppercase }), !parts[1].isEmpty
        else { return nil }
        let path = parts[1].split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0]
        return "\(parts[0]) \(path)"
    }

    /// `httpKey` of a line's bytes (`line(in:)`): the key is the line's first bytes (method,
    /// space, path up to its query), so only their count is returned; nil when not HTTP.
    public static func httpKeyLength(ofRequestLine line: ArraySlice<UInt8>) -> Int? {
        let space = UInt8(ascii: " ")
        guard let firstSpace = line.firstIndex(of: space), firstSpace > line.startIndex,
            line[..<firstSpace].allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }),
            let secondSpace = line[(firstSpace + 1)...].firstIndex(of: space), secondSpace > firstSpace + 1,
            !line[(secondSpace + 1)...].contains(space), line[(secondSpace + 1)...].starts(with: "HTTP/".utf8)
        else { return nil }
        let target = line[(firstSpace + 1)..<secondSpace]
        let pathEnd = target.firstIndex(of: UInt8(ascii: "?")) ?? secondSpace
        return pathEnd - line.startIndex
    }
}
