import CTCPCopyShims

/// Reads the legacy iptables tables through libiptc (iptables-nft rules live in nftables and
/// are not visible here).
enum IptablesRules {
    /// NFQUEUE rules in the filter table's OUTPUT chain, or an error message.
    static func nfqueueRulesInOutput() -> Result<Int, IptablesReadError> {
        var message: UnsafePointer<CChar>? = nil
        let count = CTCPCopyShims_iptc_count_nfqueue_rules("OUTPUT", &message)
        if count < 0 {
            return .failure(IptablesReadError(message: message.map { String(cString: $0) } ?? "unknown error"))
        }
        return .success(Int(count))
    }
}

struct IptablesReadError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
