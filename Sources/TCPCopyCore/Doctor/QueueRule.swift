/// An NFQUEUE rule in the OUTPUT path, as doctor found it in one of the iptables back ends:
/// which source ports it queues, to which queues, and whether it lets packets out while no one
/// reads the queue (`--queue-bypass`).
public struct QueueRule: Hashable, Sendable, CustomStringConvertible {
    public enum Backend: String, Sendable {
        /// The legacy x_tables, read through libiptc (`iptables-legacy`).
        case legacy
        /// nftables, including rules added with `iptables-nft` (`nft list ruleset`).
        case nft
    }

    public var backend: Backend
    /// Source ports queued; nil: every port (no port match).
    public var sourcePorts: ClosedRange<UInt16>?
    /// Only TCP packets (false: any protocol).
    public var tcpOnly: Bool
    /// Queue numbers the rule spreads packets over (`--queue-num N`, or `--queue-balance A:B`).
    public var queues: ClosedRange<UInt16>
    public var bypass: Bool
    /// The rule also matches on something doctor does not judge (an interface, an address, a
    /// mark): it may not cover every response.
    public var hasOtherConditions: Bool
    /// The rule as the back end shows it, for the report.
    public var text: String

    public init(
        backend: Backend, sourcePorts: ClosedRange<UInt16>?, tcpOnly: Bool, queues: ClosedRange<UInt16>,
        bypass: Bool, hasOtherConditions: Bool = false, text: String
    ) {
        self.backend = backend
        self.sourcePorts = sourcePorts
        self.tcpOnly = tcpOnly
        self.queues = queues
        self.bypass = bypass
        self.hasOtherConditions = hasOtherConditions
        self.text = text
    }

    /// Whether the target's responses from `port` reach `queue` through this rule.
    public func queues(port: UInt16, to queue: UInt16) -> Bool {
        (sourcePorts?.contains(port) ?? true) && queues.contains(queue)
    }

    /// Whether the rule queues `port` at all (perhaps to another queue).
    public func covers(port: UInt16) -> Bool { sourcePorts?.contains(port) ?? true }

    public var description: String { "\(backend): \(text)" }
}

/// Reads NFQUEUE rules out of the text the nftables tools print. Pure text in, rules out, so
/// that every spelling is tested without a kernel.
public enum QueueRuleParser {
    /// Rules of `iptables-nft -S OUTPUT` (or `iptables-save`) lines:
    /// `-A OUTPUT -p tcp -m tcp --sport 80 -j NFQUEUE --queue-num 0 --queue-bypass`.
    public static func iptablesRules(_ text: String, backend: QueueRule.Backend) -> [QueueRule] {
        var rules: [QueueRule] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let words = line.split(separator: " ").map(String.init)
            guard words.count >= 2, words[0] == "-A", words[1] == "OUTPUT",
                let jump = words.firstIndex(of: "-j"), jump + 1 < words.count, words[jump + 1] == "NFQUEUE"
            else { continue }
            var ports: ClosedRange<UInt16>?
            var tcpOnly = false
            var queues: ClosedRange<UInt16> = 0...0
            var bypass = false
            var other = false
            var index = 2
            while index < words.count {
                let word = words[index]
                let value = index + 1 < words.count ? words[index + 1] : ""
                switch word {
                case "-p", "--protocol":
                    tcpOnly = value == "tcp" || value == "6"
                    index += 2
                case "-m", "--match":
                    index += 2
                case "--sport", "--source-port":
                    ports = portRange(value, separator: ":")
                    index += 2
                case "-j":
                    index += 2
                case "--queue-num":
                    queues = UInt16(value).map { $0...$0 } ?? queues
                    index += 2
                case "--queue-balance":
                    queues = portRange(value, separator: ":") ?? queues
                    index += 2
                case "--queue-bypass":
                    bypass = true
                    index += 1
                case "--queue-cpu-fanout":
                    index += 1
                default:
                    // Any other condition (-o eth0, -d 10.0.0.0/8, --dport, -m mark ...).
                    other = true
                    index += 1
                }
            }
            rules.append(
                QueueRule(
                    backend: backend, sourcePorts: ports, tcpOnly: tcpOnly, queues: queues, bypass: bypass,
                    hasOtherConditions: other, text: String(line)))
        }
        return rules
    }

    /// Rules of `nft list ruleset` in the chains hooked to output (type filter), e.g.
    /// `tcp sport 80 counter packets 0 bytes 0 queue num 3 bypass` or
    /// `tcp sport 80 queue flags bypass to 3`.
    public static func nftRules(_ text: String) -> [QueueRule] {
        var rules: [QueueRule] = []
        var inOutputChain = false
        var depth = 0
        var chainDepth = 0
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.doctorTrimmed()
            let words = line.split(separator: " ").map(String.init)
            if words.first == "chain" { chainDepth = depth + 1 }
            if line.contains("hook output") && depth == chainDepth { inOutputChain = true }
            depth += line.filter { $0 == "{" }.count
            depth -= line.filter { $0 == "}" }.count
            if depth < chainDepth {
                inOutputChain = false
                chainDepth = 0
            }
            guard inOutputChain, let queueIndex = words.firstIndex(of: "queue") else { continue }
            var ports: ClosedRange<UInt16>?
            var tcpOnly = false
            var other = false
            var index = 0
            while index < queueIndex {
                let word = words[index]
                if word == "tcp", index + 2 < words.count, words[index + 1] == "sport" {
                    tcpOnly = true
                    ports = portRange(words[index + 2], separator: "-")
                    if ports == nil { other = true }  // a set or a negation: not judged
                    index += 3
                    continue
                }
                switch word {
                case "counter":
                    // "counter packets N bytes M"
                    index += words.count > index + 1 && words[index + 1] == "packets" ? 5 : 1
                    continue
                case "meta":
                    if index + 2 < words.count, words[index + 1] == "l4proto" {
                        tcpOnly = words[index + 2] == "tcp"
                        index += 3
                        continue
                    }
                    other = true
                case "ip", "oif", "oifname", "iif", "iifname", "mark", "ct", "tcp", "udp":
                    other = true
                default:
                    break
                }
                index += 1
            }
            var queues: ClosedRange<UInt16> = 0...0
            var bypass = false
            index = queueIndex + 1
            while index < words.count {
                switch words[index] {
                case "num", "to":
                    if index + 1 < words.count, let range = portRange(words[index + 1], separator: "-") {
                        queues = range
                    }
                    index += 2
                case "bypass":
                    bypass = true
                    index += 1
                case "flags":
                    if index + 1 < words.count {
                        let flags = words[index + 1].split(separator: ",")
                        if flags.contains("bypass") { bypass = true }
                    }
                    index += 2
                default:
                    index += 1
                }
            }
            rules.append(
                QueueRule(
                    backend: .nft, sourcePorts: ports, tcpOnly: tcpOnly, queues: queues, bypass: bypass,
                    hasOtherConditions: other, text: line))
        }
        return rules
    }

    /// `80`, `80:90` or `80-90`; nil for anything else (sets, negations, names).
    static func portRange(_ text: String, separator: Character) -> ClosedRange<UInt16>? {
        let parts = text.split(separator: separator, omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let low = UInt16(parts[0]) else { return nil }
        guard parts.count == 2 else { return low...low }
        guard let high = UInt16(parts[1]), high >= low else { return nil }
        return low...high
    }
}

extension Substring {
    func doctorTrimmed() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
