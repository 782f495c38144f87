import Testing

@testable import TCPCopyCLI
@testable import TCPCopyCore

/// intercept's command line with IPv6 entries in its lists; the IPv4 forms are covered, as
/// they were, by InterceptCommandTests.
@Suite struct InterceptIPv6OptionTests {
    @Test func allowListsTakeBracketedIPv6() throws {
        let configuration = try InterceptCommand.parse([
            "--allow", "[fd00:1::3],10.0.0.3", "-x", "10.0.0.4", "--tcpcopy-allow", "[fd00:2::]/64,10.0.2.1",
        ]).makeConfiguration()
        #expect(configuration.allowList == [IPv4Address(10, 0, 0, 3), IPv4Address(10, 0, 0, 4)])
        #expect(configuration.ipv6AllowList == [IPv6Address("fd00:1::3")!])
        #expect(configuration.tcpcopyAllow == [IPv4Network("10.0.2.1")!])
        #expect(configuration.tcpcopyAllowIPv6 == [IPNetwork("fd00:2::/64")!])
    }

    @Test func anIPv6OnlyTcpcopyAllowListsNoIPv4Peer() throws {
        let configuration = try InterceptCommand.parse(["--tcpcopy-allow", "[fd00:2::5]"]).makeConfiguration()
        #expect(configuration.tcpcopyAllow == [], "listed: IPv4 peers are refused, not the default networks")
        #expect(configuration.tcpcopyAllowIPv6 == [IPNetwork("[fd00:2::5]")!])
    }

    @Test func unbracketedIPv6IsRefusedWithAHint() {
        for list in ["fd00:1::3", "[fd00:1::3],fd00::4"] {
            do {
                _ = try InterceptCommand.parse(["--allow", list]).makeConfiguration()
                Issue.record("accepted an unbracketed IPv6 address in \(list)")
            } catch {
                #expect("\(error)".contains("brackets"), "\(error)")
            }
        }
    }
}
