import Testing

@testable import TCPCopyCore

@Suite struct CompareReportTests {
    static func line(_ number: UInt64, _ request: String, online: UInt64, target: UInt64, targetStatus: String)
        -> String
    {
        let exchange = Exchange(
            session: "10.0.9.1:4000\(number % 10)", number: number, port: 80, requestFirstLine: request,
            online: AnswerFacts(
                ending: .answered, length: 20, digest: 1, firstLine: "HTTP/1.1 200 OK", latencyMicroseconds: online),
            target: AnswerFacts(
                ending: .answered, length: 20, digest: 1, firstLine: targetStatus, latencyMicroseconds: target))
        return CompareLogCodec.encode(CompareLogRecord(exchange: exchange, outcome: exchange.outcome()))
    }

    static let log = [
        line(1, "GET /same HTTP/1.1", online: 900, target: 1_100, targetStatus: "HTTP/1.1 200 OK"),
        line(2, "GET /same HTTP/1.1", online: 1_000, target: 1_300, targetStatus: "HTTP/1.1 200 OK"),
        line(3, "GET /status HTTP/1.1", online: 700, target: 800, targetStatus: "HTTP/1.1 500 <Oops>"),
        "not json",
        "",
        line(4, "GET /slow HTTP/1.1", online: 1_200, target: 51_000, targetStatus: "HTTP/1.1 200 OK"),
    ].joined(separator: "\n")

    @Test func parsesAndCountsBadLines() {
        let (report, errors) = CompareReport.parse(log: Self.log)
        #expect(report.records.count == 4)
        #expect(errors.count == 1 && errors[0].line == 4)
        #expect(report.skippedLines == 1)
    }

    @Test func pageHoldsTheTableAndBothSeries() {
        let html = CompareReport.parse(log: Self.log).report.html()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<td class=\"key\">GET /same</td><td>2</td><td class=\"ok\">2</td>"))
        #expect(
            html.contains(
                "<td class=\"key\">GET /status</td><td>1</td><td>0</td><td>0</td><td>0</td><td class=\"bad\">1</td>"))
        #expect(html.components("<tr class=\"key-row\">") == 3)
        #expect(html.components("class=\"series-online\"") == 2)
        #expect(html.components("class=\"series-target\"") == 2)
        // Escaped, and nothing is fetched.
        #expect(html.contains("HTTP/1.1 500 &lt;Oops&gt;"))
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("href="))
        #expect(html.contains("1 line was not a record"))
        // The axis spans 0.1 ms to 100 ms: the values 0.7 ms ... 51 ms.
        #expect(html.contains(">0.1</text>") && html.contains(">100</text>"))
    }

    @Test func exactPercentiles() {
        #expect(CompareReport.percentile([1, 2, 3, 4], 0.5) == 2)
        #expect(CompareReport.percentile([1, 2, 3, 4], 0.99) == 4)
        #expect(CompareReport.percentile([], 0.5) == nil)
    }

    @Test func logarithms() {
        for (value, expected) in [(1.0, 0.0), (10.0, 1.0), (0.001, -3.0), (50.0, 1.698_97), (123_456.0, 5.091_51)] {
            #expect(abs(LogAxis.log10(value) - expected) < 1e-5)
        }
    }

    @Test func anEmptyLogStillMakesAPage() {
        let html = CompareReport.parse(log: "").report.html()
        #expect(html.contains("No latencies in the log."))
        #expect(html.contains("<tr class=\"total\">"))
    }
}

extension String {
    fileprivate func components(_ separator: String) -> Int {
        split(separator: separator, omittingEmptySubsequences: false).count - 1
    }
}

@Suite struct CompareReportOrderTests {
    @Test func mismatchesAreListedWorstFirst() {
        func record(_ number: UInt64, _ target: AnswerFacts) -> CompareLogRecord {
            let exchange = Exchange(
                session: "s", number: number, port: 80, requestFirstLine: "GET /x HTTP/1.1",
                online: CompareExchangeTests.ok, target: target)
            return CompareLogRecord(exchange: exchange, outcome: exchange.outcome())
        }
        var differentBytes = CompareExchangeTests.ok
        differentBytes.digest = 7
        let html = CompareReport(records: [
            record(1, differentBytes), record(2, AnswerFacts(ending: .reset)), record(3, CompareExchangeTests.ok),
        ]).html()
        // Split at #1's row: #2's (the reset) must come before it.
        let beforeBytes = html.split(separator: "<td class=\"key\">s #1</td>", omittingEmptySubsequences: false)
        #expect(beforeBytes.count == 2)
        #expect(beforeBytes.first?.contains("<td class=\"key\">s #2</td>") == true)
        #expect(!html.contains("s #3</td>"))
    }
}
