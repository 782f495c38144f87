import TCPCopyCore
import Testing

@testable import TCPCopyCLI

private func configuration(_ arguments: [String]) throws -> InterceptConfiguration {
    try InterceptCommand.parse(arguments).makeConfiguration()
}

private func failure(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) -> String? {
    do {
        let accepted = try configuration(arguments)
        Issue.record("accepted \(arguments) as \(accepted)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return InterceptCommand.message(for: error)
    }
}

@Suite struct InterceptSafetyOptionTests {
    @Test func safeDefaults() throws {
        let defaults = try configuration([])
        #expect(defaults.tcpcopyAllow == nil)  // this host's networks
        #expect(defaults.heartbeatTimeout == 6)
        #expect(!defaults.installRule && !defaults.queueBypass && defaults.servicePort == nil)
    }

    @Test func tcpcopyAllowTakesHostsAndNetworks() throws {
        let parsed = try configuration(["--tcpcopy-allow", "10.77.2.1,10.9.0.0/16", "--tcpcopy-allow", "10.77.2.1"])
        #expect(parsed.tcpcopyAllow?.map(\.description) == ["10.77.2.1", "10.9.0.0/16"])
        #expect(failure(["--tcpcopy-allow", "tcpcopy-host"])?.contains("not an IPv4 address or network") == true)
        #expect(failure(["--tcpcopy-allow", "10.0.0.1,"])?.contains("empty entry") == true)
        #expect(failure(["--tcpcopy-allow", "10.0.0.0/33"]) != nil)
    }

    @Test func removeRuleOnExitIsOptInWithInstallRule() throws {
        #expect(try !configuration(["--install-rule", "--service-port", "80"]).removeRuleOnExit)
        #expect(
            try configuration(["--install-rule", "--service-port", "80", "--remove-rule-on-exit"]).removeRuleOnExit)
        #expect(failure(["--remove-rule-on-exit"])?.contains("add --install-rule") == true)
    }

    @Test func routeCapsHaveDocumentedDefaultsAndMustBePositive() throws {
        let defaults = try configuration([])
        #expect(defaults.maxRoutesPerConnection == 131_072 && defaults.maxRoutes == 524_288)
        let set = try configuration(["--max-routes", "1000", "--max-routes-per-connection", "10"])
        #expect(set.maxRoutes == 1000 && set.maxRoutesPerConnection == 10)
        #expect(failure(["--max-routes", "0"]) != nil)
    }

    @Test func secretFileMustExistAndBeLongEnough() throws {
        #expect(try configuration([]).secret == nil)
        #expect(failure(["--secret-file", "/nonexistent/tcpcopy.secret"])?.contains("cannot read it") == true)
    }

    @Test func installRuleNeedsTheServicePort() throws {
        let parsed = try configuration(["--install-rule", "--service-port", "8080", "--queue", "3"])
        #expect(parsed.installRule && parsed.servicePort == 8080 && parsed.queue == 3)
        #expect(failure(["--install-rule"])?.contains("--service-port PORT") == true)
        #expect(failure(["--service-port", "80"])?.contains("only used with --install-rule") == true)
        #expect(failure(["--install-rule", "--service-port", "0"]) != nil)
    }

    @Test func queueBypassOnlyWithTheInstalledRule() throws {
        #expect(try configuration(["--install-rule", "--service-port", "80", "--queue-bypass"]).queueBypass)
        #expect(failure(["--queue-bypass"])?.contains("--install-rule") == true)
    }

    @Test func heartbeatTimeoutRange() throws {
        #expect(try configuration(["--heartbeat-timeout", "4"]).heartbeatTimeout == 4)
        #expect(try configuration(["--heartbeat-timeout", "3600"]).heartbeatTimeout == 3600)
        #expect(failure(["--heartbeat-timeout", "3"])?.contains("from 4 to 3600 seconds") == true)
    }

    @Test func helpStatesTheControlPortDefaultAndTheBypassRisk() {
        let help = InterceptCommand.helpMessage()
        #expect(help.contains("--tcpcopy-allow"))
        #expect(help.contains("this host's own networks"))
        #expect(help.contains("reach the real clients"))
        #expect(help.contains("setcap cap_net_raw,cap_net_admin+ep"))
    }
}
