/// Pure parsers for the values the two command lines take. Every function either returns a
/// valid value or throws a `ConfigurationError` that names the bad text; none trims, truncates
/// or guesses except where documented.
public enum ConfigurationParser {
    /// Parses a decimal whole number in `setting.range`. Only ASCII digits are accepted: no
    /// sign, no spaces, no hex. Leading zeros are harmless here ("080" is 80), unlike in
    /// addresses.
    public static func integer(
        _ text: some StringProtocol, for setting: NumericSetting
    ) throws(ConfigurationError) -> Int {
        guard !text.isEmpty,
            text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { throw .notANumber(String(text), setting: setting) }
        // All digits, so nil can only mean too large for Int: out of range all the same.
        guard let value = Int(text), setting.range.contains(value) else {
            throw .outOfRange(String(text), setting: setting)
        }
        return value
    }

    /// Parses a TCP port, 1...65535. Service names ("http") are not looked up.
    /// Whether Linux would accept `text` as a network interface name (`dev_valid_name`):
    /// 1 to 15 bytes, no '/', ':' or whitespace, not "." or "..".
    public static func isInterfaceName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 15, text != ".", text != ".." else { return false }
        return !bytes.contains { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 <= 0x20 || $0 == 0x7F }
    }

    public static func port(_ text: some StringProtocol) throws(ConfigurationError) -> UInt16 {
        UInt16(try integer(text, for: .port))
    }

    /// Parses a dotted-quad IPv4 address as strictly as `IPv4Address.init?(_:)`, and says what
    /// is wrong when it fails.
    public static func ipv4Address(
        _ text: some StringProtocol
    ) throws(ConfigurationError) -> IPv4Address {
        if let address = IPv4Address(text) { return address }
        throw .invalidIPv4Address(String(text), problem: diagnoseIPv4Address(text))
    }

    /// An address of either family: text with a colon is IPv6 (brackets allowed, as in
    /// `[fd00::2]`), any other text IPv4, refused with the dotted-quad diagnosis.
    public static func ipAddress(_ text: some StringProtocol) throws(ConfigurationError) -> IPAddress {
        guard text.contains(":") else { return .v4(try ipv4Address(text)) }
        var bare = Substring(text)
        if bare.hasPrefix("["), bare.hasSuffix("]") { bare = bare.dropFirst().dropLast() }
        guard let address = IPv6Address(bare) else { throw .invalidIPv6Address(String(text)) }
        return .v6(address)
    }

    /// Names the first problem of text that `IPv4Address.init?(_:)` refused.
    static func diagnoseIPv4Address(_ text: some StringProtocol) -> IPv4AddressProblem {
        if text.isEmpty { return .empty }
        if text.contains(where: \.isWhitespace) { return .containsWhitespace }
        if let bad = text.first(where: { $0 != "." && !($0.isASCII && $0.isNumber) }) {
            return .invalidCharacter(bad)
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count != 4 { return .wrongPartCount(parts.count) }
        for part in parts {
            if part.isEmpty { return .emptyPart }
            if part.count > 1 && part.first == "0" { return .leadingZero(String(part)) }
            if part.count > 3 || Int(part).map({ $0 > 255 }) ?? true {
                return .partTooLarge(String(part))
            }
        }
        // Unreachable while this mirrors the strict parser; a vague answer beats a crash.
        return .wrongPartCount(parts.count)
    }

    /// Splits a list on any of `separators`, trimming spaces and tabs around each entry, so
    /// that `"a, b"` (a natural way to write a list in a shell) means `"a,b"`. Text that is
    /// empty or only blanks is an empty list; an empty entry anywhere is an error, since it
    /// usually means a value went missing in a script.
    static func entries(
        of text: some StringProtocol, separatedBy separators: Set<Character>, list: ListKind
    ) throws(ConfigurationError) -> [Substring] {
        let entries = String(text)
            .split(omittingEmptySubsequences: false, whereSeparator: separators.contains)
            .map(trimmingBlanks)
        if entries.allSatisfy(\.isEmpty) && entries.count == 1 { throw .emptyList(list) }
        if entries.contains(where: \.isEmpty) { throw .emptyListEntry(String(text), list: list) }
        return entries
    }

    private static func trimmingBlanks(_ text: Substring) -> Substring {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = text.firstIndex(where: { !isBlank($0) }),
            let last = text.lastIndex(where: { !isBlank($0) })
        else { return text[text.endIndex...] }
        return text[first...last]
    }
}
