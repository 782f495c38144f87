import Testing

@testable import TCPCopyCore

private func problem<T>(_ result: Result<T, EndpointTextProblem>) -> EndpointTextProblem? {
    if case .failure(let problem) = result { return problem }
    return nil
}

@Suite struct EndpointTextTests {
    @Test func endpointsOfEitherFamily() throws {
        let v6 = try EndpointText.endpoint("[fd00:1::2]:80").get()
        #expect(v6.address == IPAddress("fd00:1::2") && v6.port == 80)
        let v4 = try EndpointText.endpoint("10.0.0.2:8080").get()
        #expect(v4.address == IPAddress("10.0.0.2") && v4.port == 8080)
        let bare = try EndpointText.endpoint("443").get()
        #expect(bare.address == nil && bare.port == 443)
        let mapped = try EndpointText.endpoint("[::ffff:10.0.0.2]:1").get()
        #expect(mapped.address == .v6(IPv6Address(mapping: IPv4Address(10, 0, 0, 2))))
    }

    @Test(arguments: [
        ("", EndpointTextProblem.empty),
        ("[fd00::1", .unclosedBracket("[fd00::1")),
        ("[fd00::1]", .missingPort("[fd00::1]")),
        ("[fd00::1]:", .invalidPort("")),
        ("[fd00::1]80", .unexpectedText("80")),
        ("[fd00::1]]:80", .unexpectedText("]:80")),
        ("[fd00::1]:0", .invalidPort("0")),
        ("[fd00::1]:65536", .invalidPort("65536")),
        ("[fd00::1]:+80", .invalidPort("+80")),
        ("[fd00::1]:http", .invalidPort("http")),
        ("[fd00::g]:80", .invalidAddress("fd00::g")),
        ("[]:80", .invalidAddress("")),
        ("[10.0.0.1]:80", .bracketedIPv4("10.0.0.1")),
        ("fd00::1:80", .unbracketedIPv6("fd00::1:80")),
        ("fd00::1", .unbracketedIPv6("fd00::1")),
        ("fd00::1]:80", .unexpectedText("fd00::1]:80")),
        ("10.0.0.1", .missingPort("10.0.0.1")),
        ("10.0.0.1:", .invalidPort("")),
        ("10.0.0.256:80", .invalidAddress("10.0.0.256")),
        (":80", .invalidAddress("")),
        ("80 ", .invalidPort("80 ")),
    ])
    func endpointProblems(_ text: String, _ expected: EndpointTextProblem) {
        #expect(problem(EndpointText.endpoint(text)) == expected)
    }

    @Test func routesAsTheIssueWritesThem() throws {
        let full = try EndpointText.route("[fd00:1::2]:80-[fd00:2::2]:80").get()
        #expect(
            full
                == RouteEndpoints(
                    onlineAddress: IPAddress("fd00:1::2"), onlinePort: 80, targetAddress: IPAddress("fd00:2::2")!,
                    targetPort: 80))
        #expect(full.family == .ipv6)
        let portOnly = try EndpointText.route("80-[fd00:2::2]:8080").get()
        #expect(portOnly.onlineAddress == nil && portOnly.onlinePort == 80)
        #expect(portOnly.targetAddress == IPAddress("fd00:2::2") && portOnly.targetPort == 8080)
        let v4 = try EndpointText.route("10.0.0.1:80-10.0.0.2:8080").get()
        #expect(v4.family == .ipv4 && v4.onlineAddress == IPAddress("10.0.0.1"))
    }

    @Test(arguments: [
        ("", EndpointTextProblem.empty),
        ("80", .missingDash),
        ("80-[fd00::2]:80-[fd00::3]:80", .severalDashes),
        ("80-80", .missingTargetAddress("80")),
        ("80-[fd00::2]", .missingPort("[fd00::2]")),
        ("80-fd00::2:80", .unbracketedIPv6("fd00::2:80")),
        ("[fd00::1]:80-10.0.0.2:80", .mixedFamilies(online: IPAddress("fd00::1")!, target: IPAddress("10.0.0.2")!)),
        ("10.0.0.1:80-[fd00::2]:80", .mixedFamilies(online: IPAddress("10.0.0.1")!, target: IPAddress("fd00::2")!)),
        ("[fd00::1:80-[fd00::2]:80", .unclosedBracket("[fd00::1:80")),
        ("-[fd00::2]:80", .empty),
    ])
    func routeProblems(_ text: String, _ expected: EndpointTextProblem) {
        #expect(problem(EndpointText.route(text)) == expected)
    }

    @Test func splitsListsOutsideBrackets() throws {
        #expect(try EndpointText.splitList("[fd00:1::3],10.0.0.3").get() == ["[fd00:1::3]", "10.0.0.3"])
        #expect(try EndpointText.splitList("[fd00::1]:[fd00::2]").get() == ["[fd00::1]", "[fd00::2]"])
        #expect(try EndpointText.splitList(" [fd00::1] , 10.0.0.1 ").get() == ["[fd00::1]", "10.0.0.1"])
        #expect(try EndpointText.splitList("10.0.0.1:10.0.0.2").get() == ["10.0.0.1", "10.0.0.2"])
        #expect(try EndpointText.splitList("a,,b").get() == ["a", "", "b"])
        #expect(problem(EndpointText.splitList("[fd00::1,10.0.0.1")) == .unclosedBracket("[fd00::1,10.0.0.1"))
        #expect(problem(EndpointText.splitList("[[fd00::1]]")) == .unexpectedText("[fd00::1]]"))
        #expect(problem(EndpointText.splitList("fd00::1],a")) == .unexpectedText("],a"))
    }

    @Test func allowListsOfBothFamilies() throws {
        let list = try EndpointText.networkList("[fd00:1::3],10.0.0.3").get()
        #expect(list == [IPNetwork("fd00:1::3")!, IPNetwork("10.0.0.3")!])
        #expect(list[0].contains(IPAddress("fd00:1::3")!) && !list[0].contains(IPAddress("fd00:1::4")!))
        let prefixes = try EndpointText.networkList("[fd00::]/8:10.0.0.0/24,[fd00::/8],[FD00:1::3]").get()
        #expect(prefixes.map(\.description) == ["fd00::/8", "10.0.0.0/24", "fd00:1::3"])
    }

    @Test(arguments: [
        ("fd00:1::3,10.0.0.3", EndpointTextProblem.unbracketedIPv6("fd00:1::3,10.0.0.3")),
        ("10.0.0.3:fd00::/8", .unbracketedIPv6("10.0.0.3:fd00::/8")),
        ("10.0.0.3,,10.0.0.4", .emptyEntry("10.0.0.3,,10.0.0.4")),
        ("10.0.0.1::10.0.0.2", .emptyEntry("10.0.0.1::10.0.0.2")),
        ("[10.0.0.3]", .invalidAddress("[10.0.0.3]")),
        ("[fd00::1]x", .invalidAddress("[fd00::1]x")),
        ("[fd00::1", .unclosedBracket("[fd00::1")),
        ("host.example", .invalidAddress("host.example")),
        ("", .emptyEntry("")),
    ])
    func allowListProblems(_ text: String, _ expected: EndpointTextProblem) {
        #expect(problem(EndpointText.networkList(text)) == expected)
    }

    @Test func problemsSayWhatToWrite() {
        #expect(EndpointTextProblem.unbracketedIPv6("fd00::1").description.contains("[fd00::1]:80"))
        #expect(EndpointTextProblem.bracketedIPv4("10.0.0.1").description.contains("write 10.0.0.1"))
    }
}
