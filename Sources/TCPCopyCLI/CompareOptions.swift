import ArgumentParser
import TCPCopyCore

/// tcpcopy's `--compare` options (docs/compare.md).
public struct CompareOptions: ParsableArguments {
    @Flag(
        help: ArgumentHelp(
            "Compare every answer of the target with production's, request by request: outcome "
                + "counters in the stats line and metrics, latency of both sides, a summary at exit "
                + "and on SIGUSR1. Needs intercept --compare on the target; captures the online "
                + "server's outgoing answers (libpcap) unless --offline, whose file holds them."))
    public var compare = false

    @Option(
        help: ArgumentHelp(
            "With --compare: what is compared: first-line (resets, silence, status line), length "
                + "(and the answer's length) or bytes (and a CRC-32C of every byte; default).",
            valueName: "mode"))
    public var compareMode: String?

    @Option(
        name: .customLong("compare-ignore-header"),
        help: ArgumentHelp(
            "With --compare: leave the header lines of this name (any case) out of the compared "
                + "length and bytes, in an HTTP-like answer head (e.g. Date, X-Request-Id); repeatable.",
            valueName: "name"))
    public var ignoredHeaders: [String] = []

    @Option(
        help: ArgumentHelp(
            "With --compare: write the mismatched exchanges to this file, one JSON object a line "
                + "(tcpcopy report FILE turns it into an HTML page).",
            valueName: "file"))
    public var compareLog: String?

    @Flag(help: ArgumentHelp("With --compare-log: write every exchange, not only the mismatches."))
    public var compareLogAll = false

    public init() {}

    /// The settings, nil without --compare; an error for a compare option without it.
    func settings() throws -> CompareSettings? {
        guard compare else {
            if compareMode != nil || compareLog != nil || compareLogAll || !ignoredHeaders.isEmpty {
                throw ValidationError(
                    "--compare-mode, --compare-ignore-header, --compare-log and --compare-log-all need --compare")
            }
            return nil
        }
        var settings = CompareSettings(logPath: compareLog, logAll: compareLogAll)
        for name in ignoredHeaders {
            guard !name.isEmpty, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
                throw ValidationError(
                    "--compare-ignore-header \"\(name)\" is not a header name: give the name alone, e.g. Date")
            }
        }
        guard CompareConfigCodec.fits(ignoredHeaders) else {
            throw ValidationError("--compare-ignore-header: the names are too long together (at most 164 bytes)")
        }
        settings.maskedHeaders = ignoredHeaders
        if let compareMode {
            guard let mode = CompareMode(rawValue: compareMode) else {
                throw ValidationError(
                    "--compare-mode \"\(compareMode)\" is not a mode: give first-line, length or bytes")
            }
            settings.mode = mode
        }
        if compareLogAll, compareLog == nil { throw ValidationError("--compare-log-all needs --compare-log FILE") }
        return settings
    }
}
