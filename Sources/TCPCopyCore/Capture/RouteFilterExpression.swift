/// The routes' inbound packets as a filter in tcpdump's syntax, the default of a link-layer
/// capture (`-F` replaces it): a packet to a route's port, and to its address when the route
/// names one.
public enum RouteFilterExpression {
    /// The filter for a capture of `linkType`. On Ethernet it also matches frames with one or
    /// two VLAN tags left in the packet: Linux takes the outermost tag out of the frame before
    /// the filter runs (libpcap puts it back for us), so a single tag needs nothing, but QinQ's
    /// inner 802.1Q tag stays where a plain `tcp` test looks for the IP ethertype. libpcap's
    /// `vlan` shifts every offset after it, so the tagged forms come after the untagged one.
    /// Other link types have no tags, and libpcap refuses `vlan` on them.
    public static func make(routes: [CopyRoute], linkType: LinkType? = nil) -> String {
        var clauses: [String] = []
        for route in routes {
            let clause =
                route.onlineAddress.map { "(dst host \($0) and dst port \(route.onlinePort))" }
                ?? "(dst port \(route.onlinePort))"
            if !clauses.contains(clause) { clauses.append(clause) }
        }
        let untagged = "tcp and (\(clauses.joined(separator: " or ")))"
        guard linkType == .ethernet else { return untagged }
        return "\(untagged) or (vlan and ((\(untagged)) or (vlan and \(untagged))))"
    }
}
