import ArgumentParser
import TCPCopyCore
import TCPCopyIO

/// `tcpcopy report FILE`: the compare log (`--compare-log`) as one self-contained HTML page.
public struct TCPCopyReportCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Turn a compare log into one self-contained HTML page.",
        usage: "tcpcopy report FILE [-o OUT.html]",
        discussion: """
            FILE is the JSON-lines log that tcpcopy --compare-log writes. The page holds the \
            exchanges' outcomes by request (or by port when the requests are not HTTP), the \
            latency distributions of production ("online") and of the target drawn over each \
            other, and the mismatches one by one. It fetches nothing: open it anywhere. Lines \
            that are not records are skipped, counted in the page and named on standard error.
            """)

    @Argument(help: ArgumentHelp("The compare log (JSON lines).", valueName: "file"))
    public var file: String

    @Option(
        name: [.customShort("o"), .customLong("output")],
        help: ArgumentHelp(
            "Where to write the page (default: FILE with .html added; - for standard output).",
            valueName: "out.html"))
    public var output: String?

    public init() {}

    /// Where the page goes.
    var outputPath: String { output ?? file + ".html" }

    public func run() throws {
        let log: String
        do {
            log = try readTextFile(file)
        } catch {
            throw ValidationError("cannot read the compare log \(file): \(error)")
        }
        let title = "tcpcopy compare report: " + (file.split(separator: "/").last.map(String.init) ?? file)
        let (report, errors) = CompareReport.parse(log: log, title: title)
        for (line, error) in errors.prefix(10) {
            writeStandardError("tcpcopy report: \(file):\(line): skipped: \(error)\n")
        }
        if errors.count > 10 {
            writeStandardError("tcpcopy report: \(errors.count - 10) more lines skipped\n")
        }
        let page = report.html()
        if outputPath == "-" {
            writeStandardOutput(page)
            return
        }
        do {
            try writeTextFile(outputPath, page)
        } catch {
            throw ValidationError("cannot write the report to \(outputPath): \(error)")
        }
        print("tcpcopy report: \(report.records.count) exchanges, \(errors.count) lines skipped; wrote \(outputPath)")
    }
}
