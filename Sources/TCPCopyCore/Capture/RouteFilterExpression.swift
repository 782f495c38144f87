/// The routes' inbound packets as a filter in tcpdump's syntax, the default of a link-layer
/// capture (`-F` replaces it): a packet to a route's port, and to its address when the route
/// names one.
public enum RouteFilterExpression {
    public static func make(routes: [CopyRoute]) -> String {
        var clauses: [String] = []
        for route in routes {
            let clause =
                route.onlineAddress.map { "(dst host \($0) and dst port \(route.onlinePort))" }
                ?? "(dst port \(route.onlinePort))"
            if !clauses.contains(clause) { clauses.append(clause) }
        }
        return "tcp and (\(clauses.joined(separator: " or ")))"
    }
}
