/// Why a configuration value was refused. Each description names the bad text and shows what a
/// correct value looks like, so that the command lines can print it as it is.
public enum ConfigurationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The text is not a decimal whole number ("http", "-1", "1e3", "").
    case notANumber(String, setting: NumericSetting)
    /// A whole number outside the setting's range (port 0, port 70000, `-n 1001`).
    case outOfRange(String, setting: NumericSetting)
    case invalidIPv4Address(String, problem: IPv4AddressProblem)
    /// A route whose shape is wrong before any of its parts is read.
    case malformedRoute(String, problem: RouteProblem)
    /// The old positional form got a number of values other than four.
    case wrongLegacyRouteCount([String])
    /// A list was given but holds nothing (`--allow ""`).
    case emptyList(ListKind)
    /// A list holds an empty entry (`-x ,`, `10.1.0.3::10.1.0.4`, a trailing separator).
    case emptyListEntry(String, list: ListKind)
    /// Two routes copy the same online endpoint to different targets.
    case conflictingRoutes(CopyRoute, CopyRoute)
    /// A configuration with no route copies nothing.
    case noRoutes
    /// Synthesised SYNs would announce segments that do not fit in the MTU.
    case synMSSTooLarge(mss: Int, mtu: Int)
    /// Not a name Linux accepts for a network interface (`-o`).
    case invalidInterfaceName(String)
    /// A list holding bracketed IPv6 entries (`[fd00::3],10.0.0.3`) that cannot be read.
    case invalidAddressList(String, list: ListKind, problem: EndpointTextProblem)
    /// A route with IPv6 addresses (brackets) that cannot be read.
    case invalidRoute(String, problem: EndpointTextProblem)
    /// Text with colons that is not an IPv6 address.
    case invalidIPv6Address(String)
    /// An IPv6 entry with a prefix where only hosts go (`--allow [fd00::]/64`).
    case networkInHostList(String, list: ListKind)
    /// An error found inside a larger value; the context says where.
    indirect case within(ConfigurationContext, ConfigurationError)

    public var description: String {
        switch self {
        case .notANumber(let text, let setting):
            return "\(quoted(text)) is not a whole number: the \(setting.name) must be "
                + "\(setting.rangeDescription)"
        case .outOfRange(let text, let setting):
            return
                "\(text) is out of range: the \(setting.name) must be \(setting.rangeDescription)"
        case .invalidIPv4Address(let text, let problem):
            return "\(quoted(text)) is not an IPv4 address: \(problem); write four numbers "
                + "0-255 separated by dots, e.g. 10.0.0.2"
        case .malformedRoute(let text, let problem):
            return "route \(quoted(text)) is malformed: \(problem); write "
                + "[ONLINE_IP:]PORT-TARGET_IP:PORT, e.g. 80-10.0.0.2:8080 or "
                + "10.0.0.1:80-10.0.0.2:8080"
        case .wrongLegacyRouteCount(let values):
            let got = values.map(quoted).joined(separator: " ")
            return "expected exactly four values ONLINE_IP ONLINE_PORT TARGET_IP TARGET_PORT, "
                + "got \(values.count) (\(got)); e.g. 10.0.0.1 80 10.0.0.2 8080"
        case .emptyList(let list):
            return "the \(list) is empty: give \(list.expectation), e.g. \(list.example)"
        case .emptyListEntry(let text, let list):
            return "the \(list) \(quoted(text)) has an empty entry (two separators in a row, or "
                + "one at an end): give \(list.expectation), e.g. \(list.example)"
        case .conflictingRoutes(let first, let second):
            return "routes \(first) and \(second) both copy port \(first.onlinePort) to "
                + "\(first.targetAddress):\(first.targetPort): keep one of them (to feed one target "
                + "several copies, use -n)"
        case .noRoutes:
            return "no route: give at least one, e.g. 80-10.0.0.2:8080"
        case .synMSSTooLarge(let mss, let mtu):
            return "a SYN MSS of \(mss) bytes does not fit in an MTU of \(mtu) bytes: the MSS "
                + "must be at most the MTU minus 40 (\(mtu - 40)), e.g. -M 1500 -S 1460"
        case .invalidInterfaceName(let text):
            return "\(quoted(text)) is not an interface name: Linux names are 1 to 15 characters "
                + "without '/', ':' or spaces, other than \".\" and \"..\"; e.g. eth0 (list them with ip link)"
        case .invalidAddressList(let text, let list, let problem):
            return "the \(list) \(quoted(text)) is wrong: \(problem); give \(list.expectation), IPv6 ones "
                + "in brackets, e.g. [fd00:1::3],10.1.0.3"
        case .invalidRoute(let text, let problem):
            return "the route \(quoted(text)) is wrong: \(problem); write IPv6 addresses in brackets, "
                + "e.g. 80-[fd00:2::2]:80 or [fd00:1::2]:80-[fd00:2::2]:80"
        case .invalidIPv6Address(let text):
            return "\(quoted(text)) is not an IPv6 address (e.g. fd00:2::2)"
        case .networkInHostList(let text, let list):
            return "the \(list) takes hosts, not networks: \(quoted(text)); write the address without "
                + "a prefix, e.g. [fd00:1::3]"
        case .within(let context, let error):
            return "\(context): \(error)"
        }
    }

    /// The innermost error, without the contexts that locate it.
    public var underlying: ConfigurationError {
        if case .within(_, let error) = self { return error.underlying }
        return self
    }
}

/// What is wrong with a piece of text that should be a dotted-quad IPv4 address.
public enum IPv4AddressProblem: Hashable, Sendable, CustomStringConvertible {
    case empty
    /// Spaces are refused rather than trimmed: an address is never written with them, and a
    /// stray one usually means a quoting mistake in a script.
    case containsWhitespace
    /// Host names are not looked up: the daemons must not depend on DNS.
    case invalidCharacter(Character)
    case wrongPartCount(Int)
    case emptyPart
    /// "010" is 8 to inet_aton but 10 to most people: refuse it rather than guess.
    case leadingZero(String)
    case partTooLarge(String)

    public var description: String {
        switch self {
        case .empty: return "it is empty"
        case .containsWhitespace: return "it contains whitespace"
        case .invalidCharacter(let character):
            return "it contains \(quoted(String(character))) (host names are not looked up)"
        case .wrongPartCount(let count):
            return "it has \(count) part\(count == 1 ? "" : "s"), not 4"
        case .emptyPart: return "it has an empty part"
        case .leadingZero(let part): return "\(part) has a leading zero"
        case .partTooLarge(let part): return "\(part) is greater than 255"
        }
    }
}

/// What is wrong with the shape of a route (`[ONLINE_IP:]PORT-TARGET_IP:PORT`).
public enum RouteProblem: Hashable, Sendable, CustomStringConvertible {
    case missingDash
    case severalDashes
    case missingTargetPort
    case tooManyColons

    public var description: String {
        switch self {
        case .missingDash: return "there is no '-' between the online side and the target"
        case .severalDashes: return "it has more than one '-'"
        case .missingTargetPort: return "the target has no port"
        case .tooManyColons: return "a side has more than one ':'"
        }
    }
}

/// The lists the command lines accept.
public enum ListKind: Hashable, Sendable, CustomStringConvertible {
    case routes
    case allowList
    case clientAddresses

    public var description: String {
        switch self {
        case .routes: return "route list"
        case .allowList: return "allow-list"
        case .clientAddresses: return "client address list"
        }
    }

    var expectation: String {
        switch self {
        case .routes: return "routes [ONLINE_IP:]PORT-TARGET_IP:PORT separated by ','"
        case .allowList, .clientAddresses: return "IPv4 addresses separated by ':' or ','"
        }
    }

    var example: String {
        switch self {
        case .routes: return "80-10.0.0.2:8080,10.0.0.1:443-10.0.0.2:8443"
        case .allowList: return "10.1.0.3:10.1.0.4"
        case .clientAddresses: return "10.0.9.1,10.0.9.2"
        }
    }
}

/// Where inside a larger value an error was found.
public enum ConfigurationContext: Hashable, Sendable, CustomStringConvertible {
    /// One route of a `-x` list.
    case route(String)
    /// One of the four values of the old positional form, by its name ("ONLINE_PORT").
    case legacyRouteValue(String)
    /// One allow-list, as given.
    case allowList(String)
    /// One `-c` client address list, as given.
    case clientAddresses(String)

    public var description: String {
        switch self {
        case .route(let text): return "route \(quoted(text))"
        case .legacyRouteValue(let name): return name
        case .allowList(let text): return "allow-list \(quoted(text))"
        case .clientAddresses(let text): return "client address list \(quoted(text))"
        }
    }
}

/// Quotes user text so that empty values and stray spaces show.
private func quoted(_ text: String) -> String { "\"\(text)\"" }
