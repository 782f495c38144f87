import CTCPCopyShims
import TCPCopyCore

/// The target's NFQUEUE rule in the legacy iptables tables, through libiptc. iptables-nft rules
/// live in nftables and are not visible here; the kernel runs both, so a rule in either queues
/// the packets.
enum IptablesRules {
    /// The rule intercept installs: `-A OUTPUT -p tcp --sport PORT -j NFQUEUE --queue-num QUEUE`,
    /// in iptables' tables (IPv4) or ip6tables' (IPv6, through libip6tc).
    struct NFQueueRule: CustomStringConvertible {
        var servicePort: UInt16
        var queue: UInt16
        var bypass: Bool
        var family: IPAddress.Family = .ipv4

        var description: String {
            (family == .ipv6 ? "ip6tables " : "")
                + "-A OUTPUT -p tcp --sport \(servicePort) -j NFQUEUE --queue-num \(queue)"
                + (bypass ? " --queue-bypass" : "")
        }

        /// The same rule in the other family's tables.
        func inFamily(_ family: IPAddress.Family) -> NFQueueRule {
            var rule = self
            rule.family = family
            return rule
        }
    }

    /// NFQUEUE rules for `queue` in the filter table's OUTPUT chain, or an error message.
    static func nfqueueRulesInOutput(
        queue: UInt16, family: IPAddress.Family = .ipv4
    ) -> Result<Int, IptablesError> {
        var message: UnsafePointer<CChar>? = nil
        let count =
            family == .ipv6
            ? CTCPCopyShims_ip6tc_count_nfqueue_rules("OUTPUT", Int32(queue), &message)
            : CTCPCopyShims_iptc_count_nfqueue_rules("OUTPUT", Int32(queue), &message)
        if count < 0 { return .failure(IptablesError(message)) }
        return .success(Int(count))
    }

    static func isPresent(_ rule: NFQueueRule) -> Result<Bool, IptablesError> {
        run(Int32(CTCPCopyShims_iptc_check), rule).map { $0 == 1 }
    }

    static func insert(_ rule: NFQueueRule) -> Result<Void, IptablesError> {
        run(Int32(CTCPCopyShims_iptc_insert), rule).map { _ in () }
    }

    /// Deletes one rule identical to `rule`; false when there was none.
    static func delete(_ rule: NFQueueRule) -> Result<Bool, IptablesError> {
        run(Int32(CTCPCopyShims_iptc_delete), rule).map { $0 == 1 }
    }

    private static func run(_ operation: Int32, _ rule: NFQueueRule) -> Result<Int32, IptablesError> {
        var message: UnsafePointer<CChar>? = nil
        let result =
            rule.family == .ipv6
            ? CTCPCopyShims_ip6tc_nfqueue_rule(operation, rule.servicePort, rule.queue, rule.bypass ? 1 : 0, &message)
            : CTCPCopyShims_iptc_nfqueue_rule(operation, rule.servicePort, rule.queue, rule.bypass ? 1 : 0, &message)
        return result < 0 ? .failure(IptablesError(message)) : .success(result)
    }
}

/// A libiptc call that failed, with libiptc's own message (`iptc_strerror`).
struct IptablesError: Error, CustomStringConvertible {
    let message: String
    init(_ message: UnsafePointer<CChar>?) { self.message = message.map { String(cString: $0) } ?? "unknown error" }
    var description: String { message }
}

/// The NFQUEUE rule intercept installed. Released without being removed: the rule outlives
/// intercept (the port stays fail-closed) unless `remove()` is asked for (`--remove-rule-on-exit`
/// on a clean stop); an error exit never removes it.
final class InstalledRule {
    let rule: IptablesRules.NFQueueRule
    private var removed = false

    init(_ rule: IptablesRules.NFQueueRule) { self.rule = rule }

    /// Removes the rule; returns what happened, for the log.
    func remove() -> Result<Bool, IptablesError> {
        guard !removed else { return .success(false) }
        removed = true
        return IptablesRules.delete(rule)
    }
}
