import Logging
import TCPCopyCore

/// intercept's NFQUEUE rule: installed (`--install-rule`) or looked for at start, watched on
/// every tick and put back when a firewall reload removed it, removed only when asked.
extension InterceptDaemon {
    /// Installs the rule (`--install-rule`) or checks that one is there, and starts watching it.
    /// The rule outlives intercept: removed only on a clean stop with --remove-rule-on-exit.
    func prepareRule() throws -> InstalledRule? {
        let installedRule = try installRuleIfAsked()
        ipv6RuleWatch = IPv6QueueRuleWatch.installIfAsked(configuration, logger: logger)
        if !configuration.installRule { checkRule() }
        let ownRule =
            configuration.installRule
            ? configuration.servicePort.map {
                IptablesRules.NFQueueRule(
                    servicePort: $0, queue: configuration.queue, bypass: configuration.queueBypass)
            } : nil
        ruleWatch = QueueRuleWatch(queue: configuration.queue, installed: ownRule)
        _ = ruleWatch?.check()
        return installedRule
    }

    /// The rule check of every tick (`QueueRuleWatch`).
    func watchRule() {
        ipv6RuleWatch?.watch(logger: logger)
        guard let ruleWatch else { return }
        switch ruleWatch.check() {
        case .present:
            break
        case .reinstalled:
            logger.error(
                "the NFQUEUE rule '\(ruleWatch.installed.map(\.description) ?? "")' had disappeared (a firewall reload?) and is put back (rule_reinstalled=\(ruleWatch.reinstalls)); while it was gone the target answered the real clients"
            )
        case .unreadable(let why):
            // At most every 10 s: on a host without the legacy tables this could repeat forever.
            let now = monotonicNow()
            if let last = lastUnreadableNotice, now - last < 10_000 { break }
            lastUnreadableNotice = now
            logger.warning("cannot check the NFQUEUE rule for queue \(configuration.queue): \(why)")
        case .missing(let what):
            logger.error(
                "no NFQUEUE rule for queue \(configuration.queue) (\(what)): the target's responses REACH THE REAL CLIENTS. Put the rule back (iptables -I OUTPUT -p tcp --sport PORT -j NFQUEUE --queue-num \(configuration.queue)), or run intercept --install-rule --service-port PORT"
            )
        }
    }

    /// Warns once per port when tcpcopy registers sessions whose responses the rule does not queue.
    func checkCoverage(of key: RouteKey, peer: String) {
        guard let ruleWatch, ruleWatch.isPresent, !ruleWatch.covers(port: key.targetPort),
            uncoveredPortsWarned.insert(key.targetPort).inserted
        else { return }
        logger.warning(
            "tcpcopy at \(peer) registers sessions for target port \(key.targetPort), which the NFQUEUE rule for queue \(configuration.queue) does not queue: their responses reach the real clients and intercept never sees them. Add a rule for --sport \(key.targetPort)"
        )
    }

    /// `--install-rule`: inserts the NFQUEUE rule unless an identical one is there already (then
    /// it is someone else's, and is left alone at exit too).
    func installRuleIfAsked() throws -> InstalledRule? {
        guard configuration.installRule, let port = configuration.servicePort else { return nil }
        let rule = IptablesRules.NFQueueRule(
            servicePort: port, queue: configuration.queue, bypass: configuration.queueBypass)
        switch IptablesRules.isPresent(rule) {
        case .success(true):
            logger.warning(
                "the rule '\(rule)' is already in the legacy filter table; using it, and leaving it in place at exit (intercept did not install it)"
            )
            return nil
        case .success(false):
            break
        case .failure(let error):
            logger.critical("cannot read the legacy iptables filter table: \(error)")
            throw error
        }
        if case .failure(let error) = IptablesRules.insert(rule) {
            logger.critical("cannot install '\(rule)' with libiptc: \(error)")
            throw error
        }
        logger.info(
            "installed '\(rule)' (legacy iptables filter table, libiptc); \(configuration.removeRuleOnExit ? "removed when intercept stops on SIGTERM or SIGINT (--remove-rule-on-exit)" : "it stays after intercept exits (the port stays dark); --remove-rule-on-exit removes it on SIGTERM/SIGINT")",
            metadata: ["bypass": "\(configuration.queueBypass)"])
        if configuration.queueBypass {
            logger.warning(
                "--queue-bypass: while intercept is not running, the target's responses are NOT dropped; they go to the real clients"
            )
        }
        return InstalledRule(rule)
    }

    func removeRule(_ installed: InstalledRule) {
        switch installed.remove() {
        case .success(true): logger.info("removed '\(installed.rule)'")
        case .success(false): logger.warning("the rule '\(installed.rule)' was gone already (removed by someone else)")
        case .failure(let error): logger.error("could not remove '\(installed.rule)': \(error); remove it by hand")
        }
    }

    /// Warns when no NFQUEUE rule for our queue is visible: without one, responses go straight
    /// to the real clients and intercept sees nothing.
    func checkRule() {
        switch IptablesRules.nfqueueRulesInOutput(queue: configuration.queue) {
        case .success(let count) where count > 0:
            logger.info(
                "found \(count) NFQUEUE rule(s) for queue \(configuration.queue) in the legacy filter OUTPUT chain")
        case .success:
            logger.warning(
                "no NFQUEUE rule for queue \(configuration.queue) in the legacy iptables OUTPUT chain. Unless you added one with iptables-nft, responses are not queued to intercept and REACH THE REAL CLIENTS. Add: iptables -I OUTPUT -p tcp --sport PORT -j NFQUEUE --queue-num \(configuration.queue), or run intercept --install-rule --service-port PORT"
            )
        case .failure(let error):
            logger.warning(
                "could not read the legacy iptables rules (\(error)); make sure the target's responses are queued: iptables -I OUTPUT -p tcp --sport PORT -j NFQUEUE --queue-num \(configuration.queue)"
            )
        }
    }
}
