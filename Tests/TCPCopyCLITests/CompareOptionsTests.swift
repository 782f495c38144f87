import TCPCopyCore
import Testing

@testable import TCPCopyCLI

private func settings(_ arguments: [String]) throws -> CompareSettings? {
    try TCPCopyCommand.parse(["-x", "80-10.0.0.2:80"] + arguments).makeConfiguration().compare
}

private func failure(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) -> String? {
    do {
        let accepted = try settings(arguments)
        Issue.record("accepted \(arguments) as \(String(describing: accepted))", sourceLocation: sourceLocation)
        return nil
    } catch {
        return TCPCopyCommand.message(for: error)
    }
}

@Suite("Compare options: --compare, --compare-mode, --compare-ignore-header, --compare-log")
struct CompareOptionsTests {
    @Test("Off by default; --compare compares bytes")
    func offByDefault() throws {
        #expect(try settings([]) == nil)
        #expect(try settings(["--compare"]) == CompareSettings())
        #expect(try !InterceptCommand.parse(["10.0.0.9"]).makeConfiguration().reportsAnswers)
        #expect(try InterceptCommand.parse(["10.0.0.9", "--compare"]).makeConfiguration().reportsAnswers)
    }

    @Test("Every option is kept")
    func everyOption() throws {
        let parsed = try settings([
            "--compare", "--compare-mode", "first-line", "--compare-ignore-header", "Date",
            "--compare-ignore-header", "X-Request-Id", "--compare-log", "/tmp/c.jsonl", "--compare-log-all",
        ])
        #expect(
            parsed
                == CompareSettings(
                    mode: .firstLine, maskedHeaders: ["Date", "X-Request-Id"], logPath: "/tmp/c.jsonl", logAll: true))
    }

    @Test("Wrong values and options without --compare are refused, saying what to give")
    func refusals() {
        #expect(failure(["--compare-mode", "bytes"])?.contains("need --compare") == true)
        #expect(failure(["--compare", "--compare-mode", "all"])?.contains("first-line, length or bytes") == true)
        #expect(failure(["--compare", "--compare-ignore-header", "Date:"])?.contains("not a header name") == true)
        #expect(failure(["--compare", "--compare-log-all"])?.contains("--compare-log FILE") == true)
        let long = (0..<20).map { "X-Header-Number-\($0)" }.flatMap { ["--compare-ignore-header", $0] }
        #expect(failure(["--compare"] + long)?.contains("too long") == true)
    }
}
