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
}
