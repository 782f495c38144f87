/// Route parsing: tcpcopy's `-x` list and the old positional form.
///
/// A route is `[ONLINE_IP:]PORT-TARGET_IP:PORT`. Without `ONLINE_IP` it matches the online port
/// on every local address. A list separates routes with commas; spaces and tabs around the
/// commas are ignored (`-x "80-10.0.0.2:80, 443-10.0.0.2:443"`), but not inside a route.
extension ConfigurationParser {
    /// The order of the values in the old positional form, named as the usage names them.
    public static let legacyRouteValueNames = [
        "ONLINE_IP", "ONLINE_PORT", "TARGET_IP", "TARGET_PORT",
    ]

    /// Parses one route, e.g. `80-10.0.0.2:8080`, `10.0.0.1:80-10.0.0.2:8080`, or with IPv6
    /// addresses in brackets, `80-[fd00:2::2]:80`, `[fd00:1::2]:80-[fd00:2::2]:80`.
    public static func route(_ text: some StringProtocol) throws(ConfigurationError) -> CopyRoute {
        let text = String(text)
        if text.contains("[") {
            switch EndpointText.route(text) {
            case .success(let route):
                return CopyRoute(
                    onlineAddress: route.onlineAddress, onlinePort: route.onlinePort,
                    targetAddress: route.targetAddress, targetPort: route.targetPort)
            case .failure(let problem):
                throw .invalidRoute(text, problem: problem)
            }
        }
        let sides = text.split(separator: "-", omittingEmptySubsequences: false)
        guard sides.count == 2 else {
            throw .malformedRoute(text, problem: sides.count < 2 ? .missingDash : .severalDashes)
        }
        let online = sides[0].split(separator: ":", omittingEmptySubsequences: false)
        let target = sides[1].split(separator: ":", omittingEmptySubsequences: false)
        guard online.count <= 2, target.count <= 2 else {
            throw .malformedRoute(text, problem: .tooManyColons)
        }
        guard target.count == 2 else { throw .malformedRoute(text, problem: .missingTargetPort) }
        do throws(ConfigurationError) {
            return CopyRoute(
                onlineAddress: online.count == 2 ? .v4(try ipv4Address(online[0])) : nil,
                onlinePort: try port(online[online.count - 1]),
                targetAddress: .v4(try ipv4Address(target[0])),
                targetPort: try port(target[1]))
        } catch {
            throw .within(.route(text), error)
        }
    }

    /// Parses a comma-separated route list. Exact duplicates are dropped (keeping the first);
    /// two routes for the same online endpoint with different targets are an error, since only
    /// one of them could ever be used.
    public static func routeList(_ text: some StringProtocol) throws(ConfigurationError)
        -> [CopyRoute]
    {
        var routes: [CopyRoute] = []
        for entry in try entries(of: text, separatedBy: [","], list: .routes) {
            routes.append(try route(entry))
        }
        return try deduplicatedRoutes(routes)
    }

    /// Parses the old positional form `ONLINE_IP ONLINE_PORT TARGET_IP TARGET_PORT`: exactly
    /// four values, and the same route as `-x ONLINE_IP:ONLINE_PORT-TARGET_IP:TARGET_PORT`.
    public static func legacyRoute(_ values: [String]) throws(ConfigurationError) -> CopyRoute {
        guard values.count == 4 else { throw .wrongLegacyRouteCount(values) }
        func value<T>(
            _ index: Int, _ parse: (String) throws(ConfigurationError) -> T
        ) throws(ConfigurationError) -> T {
            do throws(ConfigurationError) { return try parse(values[index]) } catch {
                throw .within(.legacyRouteValue(legacyRouteValueNames[index]), error)
            }
        }
        let route = CopyRoute(
            onlineAddress: try value(0, ipAddress), onlinePort: try value(1, port),
            targetAddress: try value(2, ipAddress), targetPort: try value(3, port))
        guard route.onlineAddress?.family == route.targetAddress.family else {
            throw .invalidRoute(
                values.joined(separator: " "),
                problem: .mixedFamilies(online: route.onlineAddress!, target: route.targetAddress))
        }
        return route
    }

    /// Drops exact duplicates (keeping the first). Several targets for one online port are
    /// fine: each target gets a full copy. Two different routes that would send the same captured
    /// session to the same target endpoint are refused: both copies would claim the same client
    /// port there.
    public static func deduplicatedRoutes(
        _ routes: [CopyRoute]
    ) throws(ConfigurationError) -> [CopyRoute] {
        var kept: [CopyRoute] = []
        for route in routes {
            if kept.contains(route) { continue }
            if let earlier = kept.first(where: { $0.overlaps(route) }) {
                throw .conflictingRoutes(earlier, route)
            }
            kept.append(route)
        }
        return kept
    }
}

extension CopyRoute {
    /// Whether some captured packet would match both routes and go to the same target endpoint.
    func overlaps(_ other: CopyRoute) -> Bool {
        onlinePort == other.onlinePort && targetAddress == other.targetAddress
            && targetPort == other.targetPort
            && (onlineAddress == nil || other.onlineAddress == nil
                || onlineAddress == other.onlineAddress)
    }
}
