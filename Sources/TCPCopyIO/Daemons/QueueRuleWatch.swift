import TCPCopyCore

/// intercept's watch over the NFQUEUE rule that queues the target's responses: a firewall reload
/// (`iptables -F OUTPUT`, ufw or firewalld restarting) removes it under a running intercept, and
/// the target then answers the real clients directly. Checked twice a second: the rule intercept
/// installed is put back; a rule of the operator's that disappears is reported on every check.
final class QueueRuleWatch {
    /// What one check found.
    enum Finding: Equatable {
        case present
        /// The installed rule was gone and is back.
        case reinstalled
        /// No rule for the queue in either back end (the text says what was read).
        case missing(String)
        /// The tables could not be read (out of descriptors or memory, say): nothing is
        /// concluded, and nothing is inserted (a rule that is there would be doubled).
        case unreadable(String)
    }

    let queue: UInt16
    /// The rule intercept installed (`--install-rule`), put back when it disappears.
    let installed: IptablesRules.NFQueueRule?
    /// Whether the last check found a rule.
    private(set) var isPresent = true
    /// Checks that found no rule.
    private(set) var missingChecks = 0
    /// Times the installed rule was put back.
    private(set) var reinstalls = 0
    /// The rules for our queue the last check found (for the port coverage warning).
    private(set) var rules: [QueueRule] = []

    init(queue: UInt16, installed: IptablesRules.NFQueueRule?) {
        self.queue = queue
        self.installed = installed
    }

    /// Reads the rules (libiptc; `nft list ruleset` only when the legacy table has none, since
    /// that spawns a process) and puts the installed rule back if it is gone.
    func check() -> Finding {
        let finding = read()
        switch finding {
        case .present, .reinstalled: isPresent = true
        case .missing: isPresent = false
        case .unreadable: break
        }
        if case .missing = finding { missingChecks += 1 }
        if finding == .reinstalled { reinstalls += 1 }
        return finding
    }

    /// Whether the rules found last cover the target's `port` (true when nothing was read:
    /// the missing rule is reported on its own).
    func covers(port: UInt16) -> Bool {
        rules.isEmpty || rules.contains { $0.covers(port: port) }
    }

    private func read() -> Finding {
        var problems: [String] = []
        var legacyRead = false
        switch HostInspection.legacyQueueRules() {
        case .success(let found):
            legacyRead = true
            let ours = found.filter { $0.queues.contains(queue) }
            if !ours.isEmpty {
                rules = ours
                return .present
            }
        case .failure(let error):
            // No legacy tables (an nft-only host), or out of descriptors: never insert blind
            // (that could double a rule that is there); nftables may still hold the rule.
            problems.append("legacy table unreadable: \(error)")
        }
        if let installed, legacyRead {
            if case .failure(let error) = IptablesRules.insert(installed) {
                problems.append("could not put it back: \(error)")
            } else {
                rules = []
                return .reinstalled
            }
        }
        var nftRead = false
        switch HostInspection.nftQueueRules() {
        case .success(let found)?:
            nftRead = true
            let ours = found.filter { $0.queues.contains(queue) }
            if !ours.isEmpty {
                rules = ours
                return .present
            }
        case .failure(let error)?:
            problems.append("nftables unreadable: \(error)")
        case nil:
            break
        }
        // Neither back end could be read: nothing is known (out of descriptors, say).
        guard legacyRead || nftRead else { return .unreadable(problems.joined(separator: "; ")) }
        rules = []
        return .missing(
            problems.isEmpty ? "none in the legacy table nor in nftables" : problems.joined(separator: "; "))
    }
}
