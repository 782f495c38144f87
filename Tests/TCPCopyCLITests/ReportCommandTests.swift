import ArgumentParser
import Testing

@testable import TCPCopyCLI

@Suite struct ReportCommandTests {
    @Test func outputDefaultsNextToTheLog() throws {
        #expect(try TCPCopyReportCommand.parse(["compare.log"]).outputPath == "compare.log.html")
        #expect(try TCPCopyReportCommand.parse(["compare.log", "-o", "out.html"]).outputPath == "out.html")
        #expect(try TCPCopyReportCommand.parse(["compare.log", "--output", "-"]).outputPath == "-")
        #expect(throws: (any Error).self) { try TCPCopyReportCommand.parse([]) }
    }

    @Test func aMissingLogIsAClearError() throws {
        let command = try TCPCopyReportCommand.parse(["/nonexistent/compare.log"])
        #expect(throws: ValidationError.self) { try command.run() }
    }

    @Test func registeredAsASubcommand() {
        #expect(TCPCopyCommand.configuration.subcommands.contains { $0 == TCPCopyReportCommand.self })
    }
}
