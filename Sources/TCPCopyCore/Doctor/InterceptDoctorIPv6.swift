extension InterceptDoctor {
    /// The rule in ip6tables' legacy table (check `rule6`), checked when the host has a routable
    /// IPv6 address or with `--ipv6`. Without it the target's IPv6 responses reach the real
    /// clients and never reach intercept.
    public static func ipv6Rule(
        _ rules: Result<[QueueRule], DoctorReadError>, port: UInt16, queue: UInt16
    ) -> [DoctorFinding] {
        let ruleText = "ip6tables -I OUTPUT -p tcp --sport \(port) -j NFQUEUE --queue-num \(queue)"
        let found: [QueueRule]
        switch rules {
        case .success(let value): found = value
        case .failure(let error):
            return [
                DoctorFinding(
                    .warning, "rule6", "could not read ip6tables' legacy filter table (libip6tc: \(error))",
                    remedy: "check by hand that \(ruleText) is in place (ip6tables-nft rules are not read)")
            ]
        }
        let matching = found.filter { $0.queues(port: port, to: queue) }
        guard !matching.isEmpty else {
            return [
                DoctorFinding(
                    .fault, "rule6",
                    "no NFQUEUE rule for port \(port) and queue \(queue) in ip6tables' OUTPUT: the target's IPv6 "
                        + "responses go out to the real clients",
                    remedy: "\(ruleText), or start intercept with --install-rule --service-port \(port)")
            ]
        }
        return matching.map { rule in
            DoctorFinding(
                rule.bypass ? .warning : .ok, "rule6",
                "\(rule.description) queues port \(port) to queue \(queue)"
                    + (rule.bypass ? "; with --queue-bypass, IPv6 responses go out while intercept is not reading" : "")
            )
        }
    }
}
