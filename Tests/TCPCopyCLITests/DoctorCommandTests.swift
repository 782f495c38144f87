import ArgumentParser
import TCPCopyCore
import Testing

@testable import TCPCopyCLI

@Suite struct DoctorCommandTests {
    @Test func tcpcopyDoctorTakesBothRouteForms() throws {
        let legacy = try TCPCopyDoctorCommand.parse(["10.0.0.1", "80", "10.0.0.2", "8080"])
        let list = try TCPCopyDoctorCommand.parse(["-x", "10.0.0.1:80-10.0.0.2:8080", "--probe"])
        #expect(try legacy.parsedRoutes() == list.parsedRoutes())
        #expect(!legacy.probe && list.probe)
        let probed = try TCPCopyDoctorCommand.parse([
            "-x", "80-10.0.0.2:80", "--probe", "--probe-client", "10.0.9.1", "-p", "4000",
        ])
        #expect(probed.probeClient == .v4(IPv4Address(10, 0, 9, 1)))
        #expect(probed.interceptPort == 4000)
    }

    @Test func tcpcopyDoctorNeedsARoute() {
        #expect(throws: (any Error).self) { try TCPCopyDoctorCommand.parse([]) }
        #expect(throws: (any Error).self) { try TCPCopyDoctorCommand.parse(["-x", "80-10.0.0.2"]) }
    }

    @Test func interceptDoctorOptions() throws {
        let command = try InterceptDoctorCommand.parse([
            "--port", "80", "--queue", "3", "--client", "10.1.0.7,10.1.0.8", "--tcpcopy-host", "10.1.0.1",
        ])
        #expect(command.servicePort == 80)
        #expect(command.queue == 3)
        #expect(command.client == ["10.1.0.7,10.1.0.8"])
        #expect(throws: (any Error).self) { try InterceptDoctorCommand.parse([]) }
        #expect(throws: (any Error).self) { try InterceptDoctorCommand.parse(["--port", "80", "--client", "10.1.0"]) }
    }

    @Test func doctorsTakeIPv6Addresses() throws {
        let tcpcopy = try TCPCopyDoctorCommand.parse([
            "-x", "80-[fd00:2::2]:80", "--probe", "--probe-client", "[fd00:9::1]",
        ])
        #expect(tcpcopy.probeClient == .v6(IPv6Address("fd00:9::1")!))
        #expect(try tcpcopy.parsedRoutes().map(\.targetAddress) == [.v6(IPv6Address("fd00:2::2")!)])
        let intercept = try InterceptDoctorCommand.parse([
            "--port", "80", "--client", "[fd00:1::7],10.1.0.8", "--client", "10.1.0.9",
        ])
        #expect(
            try intercept.clients() == [
                .v4(IPv4Address(10, 1, 0, 8)), .v4(IPv4Address(10, 1, 0, 9)), .v6(IPv6Address("fd00:1::7")!),
            ])
        // An unbracketed IPv6 address in a list is refused (its colons separate entries).
        #expect(throws: (any Error).self) {
            try InterceptDoctorCommand.parse(["--port", "80", "--client", "fd00:1::7"])
        }
        #expect(throws: (any Error).self) {
            try InterceptDoctorCommand.parse(["--port", "80", "--client", "[fd00:1::]/64"])
        }
    }

    /// The daemons' own forms still parse as before with the subcommand registered: the old
    /// positional route and allow-list are not taken for subcommand names.
    @Test func daemonFormsAreUnchanged() throws {
        let positional = try TCPCopyCommand.parse(["10.0.0.1", "80", "10.0.0.2", "80"]).makeConfiguration()
        let list = try TCPCopyCommand.parse(["-x", "10.0.0.1:80-10.0.0.2:80"]).makeConfiguration()
        #expect(positional == list)
        let intercept = try InterceptCommand.parse(["10.1.0.3:10.1.0.4"]).makeConfiguration()
        #expect(intercept.allowList == [IPv4Address(10, 1, 0, 3), IPv4Address(10, 1, 0, 4)])
    }
}

@Suite struct ServiceOptionTests {
    @Test func serviceOptionsOnBothDaemons() throws {
        let tcpcopy = try TCPCopyCommand.parse([
            "-x", "80-10.0.0.2:80", "-d", "-P", "/run/tcpcopy.pid", "-l", "/tmp/t.log", "--metrics-listen", ":9100",
        ])
        #expect(tcpcopy.service.daemon)
        #expect(tcpcopy.service.pidFile == "/run/tcpcopy.pid")
        #expect(try tcpcopy.service.metricsAddress() == MetricsListenAddress(address: nil, port: 9100))
        let intercept = try InterceptCommand.parse(["10.1.0.3", "--daemon", "--pid-file", "p", "-l", "l"])
        #expect(intercept.service.daemon && intercept.service.pidFile == "p")
        #expect(try InterceptCommand.parse([]).service.daemon == false)
    }

    @Test func badServiceOptionsAreRefused() {
        #expect(throws: (any Error).self) { try TCPCopyCommand.parse(["-x", "80-10.0.0.2:80", "-P", ""]) }
        #expect(throws: (any Error).self) {
            try TCPCopyCommand.parse(["-x", "80-10.0.0.2:80", "--metrics-listen", "9100"])
        }
        #expect(throws: (any Error).self) { try InterceptCommand.parse(["--metrics-listen", "1.2.3:80"]) }
    }
}
