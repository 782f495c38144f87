import TCPCopyCore
import Testing

@testable import TCPCopyCLI

/// Parses `arguments` as the command line would, and builds the configuration.
private func configuration(_ arguments: [String]) throws -> InterceptConfiguration {
    try InterceptCommand.parse(arguments).makeConfiguration()
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
        return InterceptCommand.message(for: error)
    }
}

@Suite struct InterceptCommandTests {
    let expected = [IPv4Address(10, 1, 0, 3), IPv4Address(10, 1, 0, 4)]

    @Test func noArgumentsGiveTheDefaults() throws {
        #expect(try configuration([]) == InterceptConfiguration())
    }

    @Test(arguments: [
        ["10.1.0.3:10.1.0.4"], ["--allow", "10.1.0.3:10.1.0.4"], ["-x", "10.1.0.3,10.1.0.4"],
        ["--allow-list", "10.1.0.3,10.1.0.4"],
        // Either separator in every form.
        ["10.1.0.3,10.1.0.4"], ["--allow", "10.1.0.3,10.1.0.4"], ["-x", "10.1.0.3:10.1.0.4"],
        // Forms combine, duplicates go.
        ["10.1.0.3", "--allow", "10.1.0.4", "-x", "10.1.0.3"],
        ["--allow", "10.1.0.3", "--allow", "10.1.0.4,10.1.0.4"],
    ])
    func allowListInEveryFormIsTheSame(_ arguments: [String]) throws {
        #expect(try configuration(arguments).allowList == expected)
    }

    @Test func everyOptionReachesTheConfiguration() throws {
        let parsed = try configuration([
            "--queue", "3", "-q", "4096", "-p", "4000", "-b", "10.0.0.2", "--route-timeout", "30",
            "-l", "/tmp/intercept.log", "--stats-interval", "10",
        ])
        #expect(parsed.queue == 3)
        #expect(parsed.queueMaxLength == 4096)
        #expect(parsed.listenPort == 4000)
        #expect(parsed.bindAddress == IPv4Address(10, 0, 0, 2))
        #expect(parsed.routeTimeout == 30)
        #expect(parsed.logFile == "/tmp/intercept.log")
        #expect(parsed.statsInterval == 10)
    }

    @Test(arguments: [["--allow", ""], ["-x", ""], [""], ["-x", " "]])
    func emptyAllowList(_ arguments: [String]) {
        #expect(failure(arguments)?.contains("the allow-list is empty") == true)
    }

    @Test(arguments: [["-x", ","], ["--allow", "10.1.0.3::10.1.0.4"], ["10.1.0.3:"]])
    func emptyAllowListEntry(_ arguments: [String]) {
        #expect(failure(arguments)?.contains("empty entry") == true)
    }

    @Test(arguments: ["10.0.0", "10.0.0.256", "1.2.3.4.5", "01.2.3.4", "localhost"])
    func malformedAddresses(_ address: String) {
        for arguments in [
            [address], ["--allow", "10.1.0.3:\(address)"], ["-x", address], ["-b", address],
        ] {
            let message = failure(arguments)
            #expect(
                message?.contains("\"\(address)\" is not an IPv4 address") == true,
                "\(arguments): \(message ?? "")")
        }
    }

    @Test(arguments: [
        (["-p", "0"], "0"), (["-p", "70000"], "70000"), (["-p", "http"], "http"),
        (["--queue", "65536"], "65536"), (["--queue", "-1"], "-1"),
        (["-q", "1048577"], "1048577"), (["--route-timeout", "0"], "0"),
    ])
    func numbersOutOfRange(_ arguments: [String], _ value: String) {
        let message = failure(arguments)
        #expect(message?.contains(value) == true, "\(arguments): \(message ?? "")")
    }

    @Test func queueLimitsAreInclusive() throws {
        #expect(try configuration(["--queue", "65535", "-q", "0"]).queue == 65535)
        #expect(try configuration(["-q", "1048576"]).queueMaxLength == 1_048_576)
    }
}
