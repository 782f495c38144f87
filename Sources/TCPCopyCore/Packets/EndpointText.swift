/// The text forms of endpoints, routes and address lists once IPv6 is allowed in them. IPv6
/// is written in brackets wherever a ':' could also separate a port or list entries, as URLs
/// write it (RFC 3986 §3.2.2): `[fd00:1::2]:80`, `80-[fd00:2::2]:80`, `[fd00:1::3],10.0.0.3`.
///
/// Pure functions that say what is wrong, to be wired into `ConfigurationParser` (which maps
/// `EndpointTextProblem` to its own errors) when the command lines learn IPv6.
public enum EndpointText {
    /// An endpoint, `PORT`, `IPV4:PORT` or `[IPV6]:PORT`; the address is nil for `PORT`.
    public static func endpoint(
        _ text: some StringProtocol
    ) -> Result<(address: IPAddress?, port: UInt16), EndpointTextProblem> {
        let text = Substring(text)
        guard !text.isEmpty else { return .failure(.empty) }
        if text.first == "[" {
            guard let close = text.firstIndex(of: "]") else { return .failure(.unclosedBracket(String(text))) }
            let inside = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard let address = IPv6Address(inside) else {
                if IPv4Address(inside) != nil { return .failure(.bracketedIPv4(String(inside))) }
                return .failure(.invalidAddress(String(inside)))
            }
            guard rest.first == ":" else {
                return .failure(rest.isEmpty ? .missingPort(String(text)) : .unexpectedText(String(rest)))
            }
            return port(rest.dropFirst()).map { (.v6(address), $0) }
        }
        if text.contains("]") { return .failure(.unexpectedText(String(text))) }
        let colons = text.count(where: { $0 == ":" })
        if colons == 0 {
            // A bare port; a bare address is not an endpoint.
            if IPAddress(text) != nil { return .failure(.missingPort(String(text))) }
            return port(text).map { (nil, $0) }
        }
        if colons > 1 {
            // `fd00::1:80` could be either an address or an address and a port.
            return .failure(.unbracketedIPv6(String(text)))
        }
        let colon = text.firstIndex(of: ":")!
        let host = text[..<colon]
        guard let v4 = IPv4Address(host) else { return .failure(.invalidAddress(String(host))) }
        return port(text[text.index(after: colon)...]).map { (.v4(v4), $0) }
    }

    /// A route, `[ONLINE_ADDRESS:]PORT-TARGET_ADDRESS:PORT`, either family, e.g.
    /// `[fd00:1::2]:80-[fd00:2::2]:80` or `80-[fd00:2::2]:80`. Both addresses, when given, must
    /// be of one family: a copy keeps the client's address, which the target must be able to
    /// answer. Without an online address, the target's family says which captures match.
    public static func route(_ text: some StringProtocol) -> Result<RouteEndpoints, EndpointTextProblem> {
        let text = Substring(text)
        guard !text.isEmpty else { return .failure(.empty) }
        // No address form holds a '-', so every one is a separator.
        let sides = text.split(separator: "-", omittingEmptySubsequences: false)
        guard sides.count == 2 else { return .failure(sides.count < 2 ? .missingDash : .severalDashes) }
        let online: (address: IPAddress?, port: UInt16)
        let target: (address: IPAddress?, port: UInt16)
        switch endpoint(sides[0]) {
        case .success(let value): online = value
        case .failure(let problem): return .failure(problem)
        }
        switch endpoint(sides[1]) {
        case .success(let value): target = value
        case .failure(let problem): return .failure(problem)
        }
        guard let targetAddress = target.address else { return .failure(.missingTargetAddress(String(sides[1]))) }
        if let onlineAddress = online.address, onlineAddress.family != targetAddress.family {
            return .failure(.mixedFamilies(online: onlineAddress, target: targetAddress))
        }
        return .success(
            RouteEndpoints(
                onlineAddress: online.address, onlinePort: online.port,
                targetAddress: targetAddress, targetPort: target.port))
    }

    /// Splits a list on any of `separators` outside brackets, so that `[fd00::1]:[fd00::2]`
    /// and `[fd00:1::3],10.0.0.3` are two entries each. Spaces and tabs around an entry are
    /// trimmed; what an entry holds is the caller's to parse. An unbalanced bracket is an
    /// error; an unbracketed IPv6 address is split on its colons, which the entry parser then
    /// refuses, so the user is told to bracket it.
    public static func splitList(
        _ text: some StringProtocol, separators: Set<Character> = [",", ":"]
    ) -> Result<[Substring], EndpointTextProblem> {
        let text = Substring(text)
        var entries: [Substring] = []
        var start = text.startIndex
        var depth = 0
        var index = text.startIndex
        while index < text.endIndex {
            let c = text[index]
            if c == "[" {
                guard depth == 0 else { return .failure(.unexpectedText(String(text[index...]))) }
                depth = 1
            } else if c == "]" {
                guard depth == 1 else { return .failure(.unexpectedText(String(text[index...]))) }
                depth = 0
            } else if depth == 0 && separators.contains(c) {
                entries.append(trimmed(text[start..<index]))
                start = text.index(after: index)
            }
            index = text.index(after: index)
        }
        guard depth == 0 else { return .failure(.unclosedBracket(String(text[start...]))) }
        entries.append(trimmed(text[start...]))
        return .success(entries)
    }

    /// An allow-list of hosts and networks of either family, `[fd00:1::3],10.0.0.3`,
    /// `[fd00::]/8:10.0.0.0/24`, separated by ',' or ':' outside brackets. Entries are parsed by
    /// `IPNetwork.init?(_:)`; an unbracketed IPv6 address is refused (its colons separate).
    /// Empty entries are refused; duplicates are dropped, keeping the first.
    public static func networkList(_ text: some StringProtocol) -> Result<[IPNetwork], EndpointTextProblem> {
        let entries: [Substring]
        switch splitList(text) {
        case .success(let value): entries = value
        case .failure(let problem): return .failure(problem)
        }
        var networks: [IPNetwork] = []
        for entry in entries {
            guard let network = IPNetwork(entry) else {
                // `fd00::1` was cut at its colons: say why rather than blame a piece.
                if holdsUnbracketedIPv6(entries, in: text) { return .failure(.unbracketedIPv6(String(text))) }
                return .failure(entry.isEmpty ? .emptyEntry(String(text)) : .invalidAddress(String(entry)))
            }
            if !networks.contains(network) { networks.append(network) }
        }
        return .success(networks)
    }

    /// Whether the list's pieces look cut from unbracketed IPv6 text: a piece of hex digits
    /// with a letter (`fd00`), or a number next to a `::` (`::1`). Only for the message.
    private static func holdsUnbracketedIPv6(_ entries: [Substring], in text: some StringProtocol) -> Bool {
        let hexOnly = { (entry: Substring) in
            !entry.isEmpty && entry.count <= 4 && entry.allSatisfy { $0.isASCII && $0.isHexDigit }
        }
        if entries.contains(where: { hexOnly($0) && !$0.allSatisfy(\.isNumber) }) { return true }
        return text.contains("::") && entries.contains(where: hexOnly)
    }

    /// A decimal port 1...65535, digits only.
    static func port(_ text: Substring) -> Result<UInt16, EndpointTextProblem> {
        guard !text.isEmpty, text.count <= 5, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
            let value = Int(text), (1...65535).contains(value)
        else { return .failure(.invalidPort(String(text))) }
        return .success(UInt16(value))
    }

    private static func trimmed(_ text: Substring) -> Substring {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !isBlank($0) }), let last = text.lastIndex(where: { !isBlank($0) })
        else { return text[text.endIndex...] }
        return text[first...last]
    }
}

/// A route's endpoints as written; `onlineAddress` nil matches every local address.
public struct RouteEndpoints: Hashable, Sendable {
    public var onlineAddress: IPAddress?
    public var onlinePort: UInt16
    public var targetAddress: IPAddress
    public var targetPort: UInt16

    public init(onlineAddress: IPAddress?, onlinePort: UInt16, targetAddress: IPAddress, targetPort: UInt16) {
        self.onlineAddress = onlineAddress
        self.onlinePort = onlinePort
        self.targetAddress = targetAddress
        self.targetPort = targetPort
    }

    /// The family of the sessions the route copies.
    public var family: IPAddress.Family { targetAddress.family }
}

/// What is wrong with an endpoint, route or list text; each says what to write instead.
public enum EndpointTextProblem: Hashable, Sendable, Error, CustomStringConvertible {
    case empty
    case emptyEntry(String)
    case unclosedBracket(String)
    case unexpectedText(String)
    case bracketedIPv4(String)
    case unbracketedIPv6(String)
    case invalidAddress(String)
    case missingPort(String)
    case invalidPort(String)
    case missingDash
    case severalDashes
    case missingTargetAddress(String)
    case mixedFamilies(online: IPAddress, target: IPAddress)

    public var description: String {
        switch self {
        case .empty: "it is empty"
        case .emptyEntry(let list): "\"\(list)\" has an empty entry"
        case .unclosedBracket(let text): "\"\(text)\" opens a '[' that is not closed"
        case .unexpectedText(let text): "\"\(text)\" is not expected there"
        case .bracketedIPv4(let text): "\"[\(text)]\": only IPv6 addresses go in brackets; write \(text)"
        case .unbracketedIPv6(let text):
            "\"\(text)\" holds an IPv6 address without brackets; write it as [fd00::1] or [fd00::1]:80"
        case .invalidAddress(let text): "\"\(text)\" is not an IPv4 or IPv6 address"
        case .missingPort(let text): "\"\(text)\" has no port; add one, e.g. [fd00::1]:80 or 10.0.0.1:80"
        case .invalidPort(let text): "\"\(text)\" is not a port (1 to 65535)"
        case .missingDash: "a route needs a '-' between the online and target endpoints"
        case .severalDashes: "a route has exactly one '-'"
        case .missingTargetAddress(let text): "the target \"\(text)\" needs an address, e.g. [fd00::2]:80"
        case .mixedFamilies(let online, let target):
            "the online address \(online) and the target address \(target) are of different families"
        }
    }
}
