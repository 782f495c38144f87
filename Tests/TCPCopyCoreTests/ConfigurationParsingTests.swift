import Testing

@testable import TCPCopyCore

/// Runs `body`, which must throw, and returns its error.
private func error<T>(
    _ body: () throws(ConfigurationError) -> T, sourceLocation: SourceLocation = #_sourceLocation
) -> ConfigurationError? {
    do {
        let value = try body()
        Issue.record("expected an error, got \(value)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

@Suite struct IntegerParsingTests {
    @Test(arguments: ["1", "80", "65535", "080"])
    func acceptsPorts(_ text: String) throws {
        #expect(try ConfigurationParser.port(text) == UInt16(text.drop { $0 == "0" }))
    }

    @Test(arguments: ["0", "65536", "70000", "99999999999999999999999"])
    func rejectsPortsOutOfRange(_ text: String) {
        let failure = error { () throws(ConfigurationError) in try ConfigurationParser.port(text) }
        #expect(failure == .outOfRange(text, setting: .port))
        #expect(failure?.description.contains(text) == true)
        #expect(failure?.description.contains("from 1 to 65535") == true)
    }

    @Test(arguments: ["http", "", " 80", "80 ", "+80", "-1", "8o", "0x50", "1e3", "８０"])
    func rejectsPortsThatAreNotNumbers(_ text: String) {
        let failure = error { () throws(ConfigurationError) in try ConfigurationParser.port(text) }
        #expect(failure == .notANumber(text, setting: .port))
        #expect(failure?.description.contains("\"\(text)\"") == true)
    }

    @Test func checksEachSettingsRange() throws {
        #expect(try ConfigurationParser.integer("2048", for: .memoryLimit) == 2048)
        #expect(try ConfigurationParser.integer("0", for: .statsInterval) == 0)
        #expect(try ConfigurationParser.integer("0", for: .queueMaxLength) == 0)
        for (text, setting) in [
            ("0", NumericSetting.copies), ("1001", .copies), ("15", .memoryLimit),
            ("575", .mtu), ("535", .synMSS), ("0", .sessionTimeout), ("0", .maxSessions),
        ] {
            let failure = error { () throws(ConfigurationError) in
                try ConfigurationParser.integer(text, for: setting)
            }
            #expect(failure == .outOfRange(text, setting: setting))
        }
    }
}

@Suite struct IPv4AddressParsingTests {
    @Test func acceptsDottedQuads() throws {
        #expect(try ConfigurationParser.ipv4Address("10.0.0.2") == IPv4Address(10, 0, 0, 2))
        #expect(try ConfigurationParser.ipv4Address("0.0.0.0") == IPv4Address(0))
        #expect(try ConfigurationParser.ipv4Address("255.255.255.255") == IPv4Address(.max))
    }

    @Test(arguments: [
        ("", IPv4AddressProblem.empty),
        ("10.0.0", .wrongPartCount(3)),
        ("1.2.3.4.5", .wrongPartCount(5)),
        ("10.0.0.256", .partTooLarge("256")),
        ("10.0.0.1000", .partTooLarge("1000")),
        ("01.2.3.4", .leadingZero("01")),
        (" 1.2.3.4", .containsWhitespace),
        ("1.2.3.4 ", .containsWhitespace),
        ("1..3.4", .emptyPart),
        ("localhost", .invalidCharacter("l")),
        ("-1.2.3.4", .invalidCharacter("-")),
    ])
    func namesTheProblem(_ text: String, _ problem: IPv4AddressProblem) {
        let failure = error { () throws(ConfigurationError) in
            try ConfigurationParser.ipv4Address(text)
        }
        #expect(failure == .invalidIPv4Address(text, problem: problem))
        #expect(failure?.description.contains("\"\(text)\"") == true)
        #expect(failure?.description.contains("e.g. 10.0.0.2") == true)
    }
}

@Suite struct RouteParsingTests {
    let target = IPv4Address(10, 0, 0, 2)

    @Test func parsesBothShapes() throws {
        #expect(
            try ConfigurationParser.route("80-10.0.0.2:8080")
                == CopyRoute(
                    onlineAddress: nil, onlinePort: 80, targetAddress: .v4(target), targetPort: 8080))
        #expect(
            try ConfigurationParser.route("10.0.0.1:80-10.0.0.2:8080")
                == CopyRoute(
                    onlineAddress: .v4(IPv4Address(10, 0, 0, 1)), onlinePort: 80, targetAddress: .v4(target),
                    targetPort: 8080))
    }

    @Test func parsesCommaListsIgnoringBlanksAroundCommas() throws {
        let routes = try ConfigurationParser.routeList(" 80-10.0.0.2:8080 ,\t443-10.0.0.2:8443 ")
        #expect(routes.map(\.description) == ["80-10.0.0.2:8080", "443-10.0.0.2:8443"])
    }

    @Test func dropsExactDuplicates() throws {
        let routes = try ConfigurationParser.routeList("80-10.0.0.2:80,80-10.0.0.2:80")
        #expect(routes.count == 1)
    }

    @Test func acceptsSeveralTargetsForOneOnlinePort() throws {
        let routes = try ConfigurationParser.routeList("80-10.0.0.2:80,80-10.0.0.3:80")
        #expect(routes.map(\.targetAddress) == [.v4(IPv4Address(10, 0, 0, 2)), .v4(IPv4Address(10, 0, 0, 3))])
    }

    @Test func refusesTwoRoutesThatMeetAtOneTargetEndpoint() {
        let failure = error { () throws(ConfigurationError) in
            try ConfigurationParser.routeList("80-10.0.0.2:80,10.0.0.1:80-10.0.0.2:80")
        }
        guard case .conflictingRoutes = failure else {
            Issue.record("got \(String(describing: failure))")
            return
        }
    }

    @Test func addressedAndUnaddressedRoutesDoNotConflict() throws {
        let routes = try ConfigurationParser.routeList("80-10.0.0.2:80,10.0.0.1:80-10.0.0.3:80")
        #expect(routes.count == 2)
    }

    @Test(arguments: [
        ("80", RouteProblem.missingDash),
        ("10.0.0.2:8080", .missingDash),
        ("80-10.0.0.2:80-1", .severalDashes),
        ("80-10.0.0.2", .missingTargetPort),
        ("1.2.3.4:80:81-10.0.0.2:80", .tooManyColons),
    ])
    func refusesMalformedRoutes(_ text: String, _ problem: RouteProblem) {
        let failure = error { () throws(ConfigurationError) in try ConfigurationParser.route(text) }
        #expect(failure == .malformedRoute(text, problem: problem))
        #expect(failure?.description.contains("e.g. 80-10.0.0.2:8080") == true)
    }

    @Test func locatesBadPartsInTheirRoute() {
        let failure = error { () throws(ConfigurationError) in
            try ConfigurationParser.routeList("80-10.0.0.2:8080,81-10.0.0:8081")
        }
        #expect(
            failure
                == .within(
                    .route("81-10.0.0:8081"),
                    .invalidIPv4Address("10.0.0", problem: .wrongPartCount(3))))
        #expect(
            failure?.description.hasPrefix("route \"81-10.0.0:8081\": \"10.0.0\" is not") == true)
    }

    @Test(arguments: ["0-10.0.0.2:80", "80-10.0.0.2:70000", "http-10.0.0.2:80", " 80-10.0.0.2:80x"])
    func refusesBadPortsInRoutes(_ text: String) {
        let failure = error { () throws(ConfigurationError) in try ConfigurationParser.route(text) }
        guard case .within(.route(text), _) = failure else {
            Issue.record("got \(String(describing: failure))")
            return
        }
    }

    @Test func refusesEmptyListsAndEntries() {
        #expect(
            error { () throws(ConfigurationError) in try ConfigurationParser.routeList("") }
                == .emptyList(.routes))
        #expect(
            error { () throws(ConfigurationError) in try ConfigurationParser.routeList(",") }
                == .emptyListEntry(",", list: .routes))
        #expect(
            error { () throws(ConfigurationError) in
                try ConfigurationParser.routeList("80-10.0.0.2:80,")
            } == .emptyListEntry("80-10.0.0.2:80,", list: .routes))
    }

    @Test func legacyFormEqualsTheListForm() throws {
        let legacy = try ConfigurationParser.legacyRoute(["10.0.0.1", "80", "10.0.0.2", "8080"])
        #expect(legacy == (try ConfigurationParser.route("10.0.0.1:80-10.0.0.2:8080")))
    }

    @Test(arguments: [
        [], ["10.0.0.1"], ["10.0.0.1", "80", "10.0.0.2"], ["1", "2", "3", "4", "5"],
    ])
    func legacyFormNeedsFourValues(_ values: [String]) {
        let failure = error { () throws(ConfigurationError) in
            try ConfigurationParser.legacyRoute(values)
        }
        #expect(failure == .wrongLegacyRouteCount(values))
        #expect(failure?.description.contains("got \(values.count)") == true)
    }

    @Test func legacyFormNamesTheBadValue() {
        let failure = error { () throws(ConfigurationError) in
            try ConfigurationParser.legacyRoute(["10.0.0.1", "80", "10.0.0.2", "0"])
        }
        #expect(
            failure == .within(.legacyRouteValue("TARGET_PORT"), .outOfRange("0", setting: .port)))
        #expect(failure?.description.hasPrefix("TARGET_PORT: 0 is out of range") == true)
    }
}

@Suite struct AllowListParsingTests {
    let expected = [IPv4Address(10, 1, 0, 3), IPv4Address(10, 1, 0, 4)]

    @Test(arguments: [
        "10.1.0.3:10.1.0.4", "10.1.0.3,10.1.0.4", "10.1.0.3, 10.1.0.4",
        "10.1.0.3:10.1.0.4,10.1.0.3",
    ])
    func acceptsEitherSeparator(_ text: String) throws {
        #expect(try ConfigurationParser.allowList(text) == expected)
    }

    @Test func combinesListsWithoutDuplicates() throws {
        let combined = try ConfigurationParser.allowList(combining: [
            "10.1.0.3", "10.1.0.4:10.1.0.3",
        ])
        #expect(combined == expected)
        #expect(try ConfigurationParser.allowList(combining: []) == [])
    }

    @Test(arguments: ["", " "])
    func refusesEmptyLists(_ text: String) {
        let failure = error { () throws(ConfigurationError) in
            try ConfigurationParser.allowList(text)
        }
        #expect(failure == .emptyList(.allowList))
        #expect(failure?.description.contains("e.g. 10.1.0.3:10.1.0.4") == true)
    }

    @Test(arguments: [",", ":", "10.1.0.3::10.1.0.4", "10.1.0.3,", ":10.1.0.3"])
    func refusesEmptyEntries(_ text: String) {
        let failure = error { () throws(ConfigurationError) in
            try ConfigurationParser.allowList(text)
        }
        #expect(failure == .emptyListEntry(text, list: .allowList))
    }

    @Test func locatesABadAddress() {
        let failure = error { () throws(ConfigurationError) in
            try ConfigurationParser.allowList("10.1.0.3:10.1.0")
        }
        #expect(
            failure
                == .within(
                    .allowList("10.1.0.3:10.1.0"),
                    .invalidIPv4Address("10.1.0", problem: .wrongPartCount(3))))
    }
}

@Suite struct ConfigurationValidationTests {
    let route = CopyRoute(
        onlineAddress: nil, onlinePort: 80, targetAddress: .v4(IPv4Address(10, 0, 0, 2)), targetPort: 80)

    @Test func defaultsAreValid() throws {
        try TCPCopyConfiguration(routes: [route]).validate()
        try InterceptConfiguration().validate()
    }

    @Test func netlinkBufferHoldsAFullQueue() {
        var intercept = InterceptConfiguration()
        #expect(intercept.netlinkReceiveBufferBytes == 32 << 20)  // the default 65536 packets
        intercept.queueMaxLength = 0  // the kernel's 1024
        #expect(intercept.netlinkReceiveBufferBytes == 8 << 20)
        intercept.queueMaxLength = 1_048_576  // the largest -q: still an Int32 for setsockopt
        #expect(intercept.netlinkReceiveBufferBytes == 512 << 20)
        #expect(intercept.netlinkReceiveBufferBytes <= Int(Int32.max))
    }

    @Test func needsARoute() {
        let failure = error { () throws(ConfigurationError) in
            try TCPCopyConfiguration(routes: []).validate()
        }
        #expect(failure == .noRoutes)
    }

    @Test func synMSSMustFitTheMTU() throws {
        var configuration = TCPCopyConfiguration(routes: [route])
        configuration.mtu = 1000
        configuration.synMSS = 960
        try configuration.validate()
        configuration.synMSS = 961
        let failure = error { () throws(ConfigurationError) in try configuration.validate() }
        #expect(failure == .synMSSTooLarge(mss: 961, mtu: 1000))
        #expect(failure?.description.contains("960") == true)
    }

    @Test func catchesValuesSetInCode() {
        var configuration = TCPCopyConfiguration(routes: [route])
        configuration.copies = 0
        #expect(
            error { () throws(ConfigurationError) in try configuration.validate() }
                == .outOfRange("0", setting: .copies))
        var intercept = InterceptConfiguration()
        intercept.listenPort = 0
        #expect(
            error { () throws(ConfigurationError) in try intercept.validate() }
                == .outOfRange("0", setting: .port))
    }
}
