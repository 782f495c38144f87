/// Address lists: intercept's allow-list and tcpcopy's `-c` client addresses.
///
/// The original took a colon-separated list as its first positional argument (0.4) and a
/// comma-separated one with `-x` (0.9). Users mix them up, and neither character can appear in
/// an IPv4 address, so every form accepts either separator; spaces and tabs around a separator
/// are ignored.
extension ConfigurationParser {
    static let allowListSeparators: Set<Character> = [":", ","]

    /// Parses one allow-list, e.g. `10.1.0.3:10.1.0.4` or `10.1.0.3,10.1.0.4`. A given list
    /// must not be empty, nor hold an empty entry. Duplicates are dropped, keeping the first.
    public static func allowList(
        _ text: some StringProtocol
    ) throws(ConfigurationError) -> [IPv4Address] {
        try addressList(text, kind: .allowList)
    }

    /// Parses one list of addresses of the given kind, with the allow-list's rules.
    public static func addressList(
        _ text: some StringProtocol, kind: ListKind
    ) throws(ConfigurationError) -> [IPv4Address] {
        let text = String(text)
        var addresses: [IPv4Address] = []
        do throws(ConfigurationError) {
            for entry in try entries(of: text, separatedBy: allowListSeparators, list: kind) {
                addresses.append(try ipv4Address(entry))
            }
        } catch {
            // An empty list says everything already; an address needs to be located.
            if case .invalidIPv4Address = error {
                throw .within(kind == .clientAddresses ? .clientAddresses(text) : .allowList(text), error)
            }
            throw error
        }
        return removingDuplicates(addresses)
    }

    /// Parses and joins several lists of one kind, in order, without duplicates.
    public static func addressList(
        combining lists: [String], kind: ListKind
    ) throws(ConfigurationError) -> [IPv4Address] {
        var addresses: [IPv4Address] = []
        for list in lists { addresses += try addressList(list, kind: kind) }
        return removingDuplicates(addresses)
    }

    /// Parses and joins several allow-lists (the positional one, every `--allow`, every `-x`),
    /// in order, without duplicates. No list at all is an empty allow-list, which is valid:
    /// every response is then dropped.
    public static func allowList(
        combining lists: [String]
    ) throws(ConfigurationError) -> [IPv4Address] {
        try addressList(combining: lists, kind: .allowList)
    }

    private static func removingDuplicates(_ addresses: [IPv4Address]) -> [IPv4Address] {
        var seen = Set<IPv4Address>()
        return addresses.filter { seen.insert($0).inserted }
    }
}
