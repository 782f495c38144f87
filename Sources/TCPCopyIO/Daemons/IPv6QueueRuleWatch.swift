import Logging
import TCPCopyCore

/// intercept's NFQUEUE rule in ip6tables' legacy filter table (libip6tc), kept apart from the
/// IPv4 rule and its `QueueRuleWatch` so that the IPv4 behaviour stays as it was.
///
/// `--install-rule` installs the IPv6 rule beside the IPv4 one when ip6tables' table can be read
/// (a host with IPv6); until intercept forwards IPv6 responses to tcpcopy (control protocol
/// version 2), the queued IPv6 responses are dropped unless allow-listed, so the rule keeps the
/// target's IPv6 clients from seeing them (fail-closed). The rule, once installed, is checked on
/// every tick and put back when a firewall reload removes it.
final class IPv6QueueRuleWatch {
    /// What one check found.
    enum Finding: Equatable {
        case present
        case reinstalled
        /// Gone, and could not be put back (the text says why).
        case missing(String)
        case unreadable(String)
    }

    let installed: InstalledRule
    private(set) var isPresent = true
    private(set) var reinstalls = 0

    private init(installed: InstalledRule) { self.installed = installed }

    /// What `install` did, for the log.
    enum Installation {
        case installed(IPv6QueueRuleWatch)
        /// An identical rule is there already (someone else's, left alone).
        case alreadyPresent(IptablesRules.NFQueueRule)
        /// No ip6tables table to read (no IPv6 on the host, or no ip6_tables module).
        case unavailable(IptablesRules.NFQueueRule, IptablesError)
        case failed(IptablesRules.NFQueueRule, IptablesError)
    }

    /// Inserts `rule` (an IPv6 rule) unless it is there already.
    static func install(_ rule: IptablesRules.NFQueueRule) -> Installation {
        switch IptablesRules.isPresent(rule) {
        case .success(true): return .alreadyPresent(rule)
        case .success(false): break
        case .failure(let error): return .unavailable(rule, error)
        }
        if case .failure(let error) = IptablesRules.insert(rule) { return .failed(rule, error) }
        return .installed(IPv6QueueRuleWatch(installed: InstalledRule(rule)))
    }

    /// Puts the installed rule back if it is gone. Any NFQUEUE rule of ip6tables' OUTPUT for the
    /// queue counts as present.
    func check() -> Finding {
        let rule = installed.rule
        switch IptablesRules.nfqueueRulesInOutput(queue: rule.queue, family: .ipv6) {
        case .success(let count) where count > 0:
            isPresent = true
            return .present
        case .success:
            if case .failure(let error) = IptablesRules.insert(rule) {
                isPresent = false
                return .missing("could not put it back: \(error)")
            }
            isPresent = true
            reinstalls += 1
            return .reinstalled
        case .failure(let error):
            return .unreadable("\(error)")
        }
    }
}

extension IPv6QueueRuleWatch {
    /// `--install-rule`'s IPv6 half: installs the rule, or says why not. Never fatal: a host
    /// without IPv6 has no ip6tables table, and the IPv4 rule is what the user asked for.
    static func installIfAsked(_ configuration: InterceptConfiguration, logger: Logger) -> IPv6QueueRuleWatch? {
        guard configuration.installRule, let port = configuration.servicePort else { return nil }
        let rule = IptablesRules.NFQueueRule(
            servicePort: port, queue: configuration.queue, bypass: configuration.queueBypass, family: .ipv6)
        switch install(rule) {
        case .installed(let watch):
            logger.info(
                "installed '\(rule)' (legacy ip6tables filter table, libip6tc); queued IPv6 responses are dropped unless allow-listed (forwarding them to tcpcopy needs control protocol version 2)"
            )
            return watch
        case .alreadyPresent(let rule):
            logger.warning(
                "the rule '\(rule)' is already in the legacy ip6tables filter table; using it, and leaving it in place at exit"
            )
        case .unavailable(let rule, let error):
            logger.notice(
                "no IPv6 rule: the legacy ip6tables filter table cannot be read (\(error)); if the target answers over IPv6, add '\(rule)' by hand"
            )
        case .failed(let rule, let error):
            logger.error(
                "cannot install '\(rule)' with libip6tc: \(error); the target's IPv6 responses REACH THE REAL CLIENTS unless you add it by hand"
            )
        }
        return nil
    }

    /// The tick's check, logged as the IPv4 watch logs its own.
    func watch(logger: Logger) {
        switch check() {
        case .present:
            break
        case .reinstalled:
            logger.error(
                "the NFQUEUE rule '\(installed.rule)' had disappeared (a firewall reload?) and is put back (rule6_reinstalled=\(reinstalls)); while it was gone the target answered its IPv6 clients"
            )
        case .missing(let why):
            logger.error("the NFQUEUE rule '\(installed.rule)' is gone: \(why); IPv6 responses REACH THE REAL CLIENTS")
        case .unreadable(let why):
            logger.debug("cannot check the IPv6 NFQUEUE rule: \(why)")
        }
    }

    /// `--remove-rule-on-exit` on a clean stop.
    func remove(logger: Logger) {
        switch installed.remove() {
        case .success(true): logger.info("removed '\(installed.rule)'")
        case .success(false): logger.warning("the rule '\(installed.rule)' was gone already (removed by someone else)")
        case .failure(let error): logger.error("could not remove '\(installed.rule)': \(error); remove it by hand")
        }
    }

    /// The stats line's figures.
    var counters: IPv6RuleCounters {
        var counters = IPv6RuleCounters()
        counters.present = isPresent ? 1 : 0
        counters.reinstalled = reinstalls
        return counters
    }
}
