import ArgumentParser
import TCPCopyCore

/// The routes of a command line that accepts both forms, `ONLINE_IP PORT TARGET_IP PORT` and
/// `-x PORT-TARGET_IP:PORT,...` (tcpcopy and `tcpcopy doctor`): exactly one form must be given.
/// Each command words its own errors for the two misuses.
func parsedRoutes(
    legacy: [String], lists: [String], whenMissing missing: String, whenBoth both: String
) throws -> [CopyRoute] {
    switch (legacy.isEmpty, lists.isEmpty) {
    case (true, true):
        throw ValidationError(missing)
    case (false, false):
        throw ValidationError(both)
    case (false, true):
        return [try validated { () throws(ConfigurationError) in try ConfigurationParser.legacyRoute(legacy) }]
    case (true, false):
        return try validated { () throws(ConfigurationError) in
            var parsed: [CopyRoute] = []
            for list in lists { parsed += try ConfigurationParser.routeList(list) }
            return try ConfigurationParser.deduplicatedRoutes(parsed)
        }
    }
}
