import TCPCopyCore
import Testing

@testable import TCPCopyCLI

private func capture(_ arguments: [String]) throws -> CaptureMode {
    try TCPCopyCommand.parse(["-x", "80-10.0.0.2:80"] + arguments).makeConfiguration().capture
}

private func failure(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) -> String? {
    do {
        let accepted = try capture(arguments)
        Issue.record("accepted \(arguments) as \(accepted)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return TCPCopyCommand.message(for: error)
    }
}

@Suite("Capture options: -i, -F, -B, --offline, -a, -I, --loop")
struct CaptureOptionsTests {
    @Test("Without -i or --offline the raw socket captures")
    func rawByDefault() throws {
        #expect(try capture([]) == .rawSocket)
    }

    @Test("-i takes a comma list of interfaces, with its filter and buffer")
    func linkCapture() throws {
        #expect(
            try capture(["-i", "eth0, eth1", "-F", "tcp port 80", "-B", "32"])
                == .link(LinkCapture(interfaces: ["eth0", "eth1"], filter: "tcp port 80", bufferMB: 32)))
        #expect(try capture(["-i", "any"]) == .link(LinkCapture(interfaces: ["any"])))
    }

    @Test("--offline takes its pacing; -i naming a regular file replays it")
    func offline() throws {
        var replay = OfflineReplay(path: "/etc/hostname")
        replay.speed = 0.5
        replay.idleGapMilliseconds = 100
        replay.loops = 3
        #expect(
            try capture(["--offline", "/etc/hostname", "-a", "0.5", "-I", "100", "--loop", "3"]) == .offline(replay))
        // /etc/hostname is a regular file on any Linux system: -i FILE replays it.
        #expect(try capture(["-i", "/etc/hostname"]) == .offline(OfflineReplay(path: "/etc/hostname")))
    }

    @Test("Options of one mode are refused with another, and bad values say why")
    func refusals() {
        #expect(failure(["-a", "2"])?.contains("with --offline FILE") == true)
        #expect(failure(["-i", "eth0", "--loop", "2"])?.contains("--loop paces a replayed file") == true)
        #expect(failure(["-F", "tcp"])?.contains("give the interfaces with -i") == true)
        #expect(failure(["--offline", "/etc/hostname", "-B", "8"])?.contains("no meaning with --offline") == true)
        #expect(failure(["--offline", "/etc/hostname", "-a", "0"])?.contains("is not a speed") == true)
        #expect(failure(["--offline", "/etc/hostname", "-a", "fast"])?.contains("is not a speed") == true)
        #expect(failure(["--offline", "/etc/hostname", "-I", "0"])?.contains("idle gap") == true)
        #expect(failure(["-i", "eth0,,eth1"])?.contains("empty interface name") == true)
        #expect(failure(["-i", "eth0", "--offline", "/etc/hostname"])?.contains("not both") == true)
        #expect(
            failure(["--offline", "/nonexistent/day.pcap"])
                == "cannot read the capture file /nonexistent/day.pcap: No such file or directory")
        #expect(failure(["--offline", "/etc"])?.contains("not a regular file") == true)
    }
}
