import TCPCopyCore
import Testing

@testable import TCPCopyCLI

/// Parses `arguments` as the command line would, and builds the configuration.
private func configuration(_ arguments: [String]) throws -> TCPCopyConfiguration {
    try TCPCopyCommand.parse(arguments).makeConfiguration()
}

/// The message the user would see for `arguments`, or nil (and a test failure) if they are
/// accepted.
private func failure(
    _ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation
) -> String? {
    do {
        let accepted = try configuration(arguments)
        Issue.record("accepted \(arguments) as \(accepted)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return TCPCopyCommand.message(for: error)
    }
}

@Suite struct TCPCopyCommandTests {
    let online = IPv4Address(10, 0, 0, 1)
    let target = IPv4Address(10, 0, 0, 2)

    @Test func bothFormsGiveEqualConfigurations() throws {
        let legacy = try configuration(["10.0.0.1", "80", "10.0.0.2", "8080"])
        let list = try configuration(["-x", "10.0.0.1:80-10.0.0.2:8080"])
        #expect(legacy == list)
        #expect(
            legacy.routes == [
                CopyRoute(
                    onlineAddress: .v4(online), onlinePort: 80, targetAddress: .v4(target), targetPort: 8080)
            ])
        #expect(try configuration(["--routes", "10.0.0.1:80-10.0.0.2:8080"]) == list)
    }

    @Test func defaultsMatchTheConfigurationType() throws {
        var expected = TCPCopyConfiguration(routes: [
            CopyRoute(onlineAddress: nil, onlinePort: 80, targetAddress: .v4(target), targetPort: 80)
        ])
        #expect(try configuration(["-x", "80-10.0.0.2:80"]) == expected)
        expected.copies = 2
        #expect(try configuration(["-x", "80-10.0.0.2:80", "-n", "2"]) == expected)
    }

    @Test func oldFormTakesOptionsAfterIt() throws {
        #expect(try configuration(["10.0.0.1", "80", "10.0.0.2", "80", "-n", "2"]).copies == 2)
    }

    @Test func commaListsAndRepeatedOptionsCombine() throws {
        let routes = try configuration([
            "-x", "80-10.0.0.2:8080, 10.0.0.1:443-10.0.0.2:8443", "-x", "81-10.0.0.3:81",
        ]).routes
        #expect(
            routes.map(\.description) == [
                "80-10.0.0.2:8080", "10.0.0.1:443-10.0.0.2:8443", "81-10.0.0.3:81",
            ])
    }

    @Test func everyOptionReachesTheConfiguration() throws {
        let parsed = try configuration([
            "-x", "80-10.0.0.2:80", "-n", "3", "-p", "4000", "-t", "30", "-M", "9000", "-S", "8960",
            "-m", "2048", "--max-sessions", "10", "--capture-buffer", "256", "-l", "/tmp/tcpcopy.log", "--log-level", "debug",
            "--stats-interval", "60",
        ])
        #expect(parsed.copies == 3)
        #expect(parsed.interceptPort == 4000)
        #expect(parsed.sessionTimeout == 30)
        #expect(parsed.mtu == 9000)
        #expect(parsed.synMSS == 8960)
        #expect(parsed.memoryLimitMB == 2048)
        #expect(parsed.maxSessions == 10)
        #expect(parsed.captureBufferMB == 256)
        #expect(parsed.logFile == "/tmp/tcpcopy.log")
        #expect(parsed.statsInterval == 60)
        let command = try TCPCopyCommand.parse(["-x", "80-10.0.0.2:80", "--log-level", "debug"])
        #expect(command.logging.logLevel == .debug)
    }

    @Test func outputInterfaceChoosesTheLinkLayerSink() throws {
        #expect(try configuration(["-x", "80-10.0.0.2:80"]).sendInterface == nil)
        #expect(try configuration(["-x", "80-10.0.0.2:80", "-o", "eth0"]).sendInterface == "eth0")
        #expect(try configuration(["-x", "80-10.0.0.2:80", "--output-interface", "tunl0"]).sendInterface == "tunl0")
    }

    @Test func outputInterfaceNamesLinuxWouldRefuseAreRefused() throws {
        for name in ["", "eth0:1", "a/b", "has space", ".", "..", "abcdefghijklmnop"] {
            let message = failure(["-x", "80-10.0.0.2:80", "-o", name])
            #expect(message?.contains("is not an interface name") == true, "\(name): \(message ?? "accepted")")
        }
        let longest = "abcdefghijklmno"
        #expect(try configuration(["-x", "80-10.0.0.2:80", "-o", longest]).sendInterface == longest)
    }

    @Test func memoryLimitAbove255IsKept() throws {
        // The original stored -m in a bit-field: 2048 became 0.
        #expect(try configuration(["-x", "80-10.0.0.2:80", "-m", "2048"]).memoryLimitMB == 2048)
    }

    @Test func captureBufferOutsideItsRangeIsRefused() throws {
        #expect(failure(["-x", "80-10.0.0.2:80", "--capture-buffer", "0"])?.contains("capture buffer") == true)
        #expect(failure(["-x", "80-10.0.0.2:80", "--capture-buffer", "1025"])?.contains("from 1 to 1024 MiB") == true)
        #expect(try configuration(["-x", "80-10.0.0.2:80"]).captureBufferMB == 64)
    }

    @Test func missingTarget() {
        let message = failure([])
        #expect(message?.contains("missing target") == true)
        #expect(message?.contains("-x PORT-TARGET_IP:PORT") == true)
        #expect(failure(["-n", "2"])?.contains("missing target") == true)
    }

    @Test func bothFormsAtOnce() {
        let message = failure(["10.0.0.1", "80", "10.0.0.2", "80", "-x", "81-10.0.0.2:81"])
        #expect(message?.contains("10.0.0.1 80 10.0.0.2 80") == true)
        #expect(message?.contains("81-10.0.0.2:81") == true)
        #expect(message?.contains("one form") == true)
    }

    @Test(arguments: [
        ["10.0.0.1"], ["10.0.0.1", "80", "10.0.0.2"], ["10.0.0.1", "80", "10.0.0.2", "80", "81"],
    ])
    func wrongPositionalCount(_ arguments: [String]) {
        let message = failure(arguments)
        #expect(message?.contains("exactly four values") == true)
        #expect(message?.contains("got \(arguments.count)") == true)
    }

    @Test(arguments: ["0", "70000", "http"])
    func badPortsInEveryPlace(_ port: String) {
        for arguments in [
            ["10.0.0.1", port, "10.0.0.2", "80"], ["10.0.0.1", "80", "10.0.0.2", port],
            ["-x", "\(port)-10.0.0.2:80"], ["-x", "80-10.0.0.2:\(port)"],
            ["-x", "80-10.0.0.2:80", "-p", port],
        ] {
            let message = failure(arguments)
            #expect(message?.contains(port) == true, "\(arguments): \(message ?? "")")
            #expect(message?.contains("from 1 to 65535") == true, "\(arguments): \(message ?? "")")
        }
    }

    @Test(arguments: ["10.0.0", "10.0.0.256", "1.2.3.4.5", "01.2.3.4", " 1.2.3.4"])
    func malformedAddresses(_ address: String) {
        for arguments in [
            [address, "80", "10.0.0.2", "80"], ["10.0.0.1", "80", address, "80"],
            ["-x", "80-\(address):80"],
        ] {
            let message = failure(arguments)
            #expect(
                message?.contains("\"\(address)\" is not an IPv4 address") == true,
                "\(arguments): \(message ?? "")")
        }
    }

    @Test func malformedAddressInTheOldFormIsNamed() {
        #expect(failure(["10.0.0", "80", "10.0.0.2", "80"])?.hasPrefix("ONLINE_IP: ") == true)
        #expect(failure(["10.0.0.1", "80", "10.0.0.2", "0"])?.hasPrefix("TARGET_PORT: ") == true)
    }

    @Test func malformedRoutes() {
        #expect(failure(["-x", "80"])?.contains("route \"80\" is malformed") == true)
        #expect(failure(["-x", "80-10.0.0.2"])?.contains("the target has no port") == true)
        #expect(failure(["-x", ""])?.contains("the route list is empty") == true)
        #expect(failure(["-x", "80-10.0.0.2:80,"])?.contains("empty entry") == true)
        #expect(
            failure(["-x", "80-10.0.0.2:80,10.0.0.1:80-10.0.0.2:80"])?.contains("keep one of them") == true)
        #expect((try? configuration(["-x", "80-10.0.0.2:80,80-10.0.0.3:80"]))?.routes.count == 2)
    }

    @Test(arguments: [
        (["-n", "0"], "0"), (["-n", "1001"], "1001"), (["-n", "two"], "two"),
        (["-t", "0"], "0"), (["-M", "575"], "575"), (["-M", "65536"], "65536"),
        (["-S", "535"], "535"), (["-m", "15"], "15"), (["-m", "1048577"], "1048577"),
        (["--max-sessions", "0"], "0"), (["--stats-interval", "-1"], "-1"),
    ])
    func numbersOutOfRange(_ option: [String], _ value: String) {
        let message = failure(["-x", "80-10.0.0.2:80"] + option)
        #expect(message?.contains(value) == true, "\(option): \(message ?? "")")
    }

    @Test func copiesBoundsAreInclusive() throws {
        #expect(try configuration(["-x", "80-10.0.0.2:80", "-n", "1"]).copies == 1)
        #expect(try configuration(["-x", "80-10.0.0.2:80", "-n", "1000"]).copies == 1000)
    }

    @Test func synMSSMustFitTheMTU() throws {
        #expect(
            try configuration(["-x", "80-10.0.0.2:80", "-M", "1500", "-S", "1460"]).synMSS == 1460)
        let message = failure(["-x", "80-10.0.0.2:80", "-M", "1000", "-S", "1460"])
        #expect(message?.contains("1460") == true)
        #expect(message?.contains("960") == true)
    }

    @Test func emptyLogFile() {
        #expect(failure(["-x", "80-10.0.0.2:80", "-l", ""])?.contains("log file") == true)
    }

    @Test func unknownLogLevel() {
        #expect(failure(["-x", "80-10.0.0.2:80", "--log-level", "loud"])?.contains("loud") == true)
    }
}

@Suite struct TCPCopySelectionOptionTests {
    @Test func rateShiftAndClientAddressesAreParsed() throws {
        let parsed = try configuration(["-x", "80-10.0.0.2:80", "-r", "30", "-f", "2", "-c", "10.0.9.1,10.0.9.2"])
        #expect(parsed.sessionRate == 30)
        #expect(parsed.portShift == 2)
        #expect(parsed.clientAddresses == [.v4(IPv4Address(10, 0, 9, 1)), .v4(IPv4Address(10, 0, 9, 2))])
    }

    @Test(arguments: [
        (["-r", "0"], "0"), (["-r", "101"], "101"), (["-f", "64"], "64"), (["-c", "10.0.9"], "10.0.9"),
        (["-c", ","], "empty"),
    ])
    func badValuesAreRefusedNamingThem(extra: [String], mentioned: String) throws {
        do {
            _ = try configuration(["-x", "80-10.0.0.2:80"] + extra)
            Issue.record("accepted \(extra)")
        } catch {
            #expect(TCPCopyCommand.message(for: error).contains(mentioned))
        }
    }
}
