import Testing

@testable import TCPCopyCore

@Suite struct CompareExchangeTests {
    static let ok = AnswerFacts(
        ending: .answered, length: 100, digest: 0x1111_1111, firstLine: "HTTP/1.1 200 OK", latencyMicroseconds: 800)

    static func exchange(online: AnswerFacts = ok, target: AnswerFacts, request: String? = "GET /a?x=1 HTTP/1.1")
        -> Exchange
    {
        Exchange(
            session: "10.0.9.1:40000", number: 1, port: 80, requestFirstLine: request, online: online, target: target)
    }

    @Test func eachOutcomeAndItsPrecedence() {
        var target = Self.ok
        #expect(Self.exchange(target: target).outcome() == .same)
        target.digest = 0x2222_2222
        #expect(Self.exchange(target: target).outcome() == .bytesDiffer)
        target.length = 101
        target.comparedLength = 101
        // Length before bytes.
        #expect(Self.exchange(target: target).outcome() == .lengthDiffers)
        target.firstLine = "HTTP/1.1 500 Internal Server Error"
        // First line before length and bytes.
        #expect(Self.exchange(target: target).outcome() == .firstLineDiffers)
        #expect(Self.exchange(target: AnswerFacts(ending: .silent)).outcome() == .targetSilent)
        #expect(Self.exchange(target: AnswerFacts(ending: .reset)).outcome() == .targetReset)
        #expect(Self.exchange(target: AnswerFacts(ending: .closed)).outcome() == .targetReset)
        #expect(
            CompareOutcome.allCases.map(\.rawValue) == [
                "compare_target_reset", "compare_target_silent", "compare_first_line_differs", "compare_length_differs",
                "compare_bytes_differ", "compare_same",
            ])
    }

    @Test func bothSidesEndingAlikeIsSame() {
        #expect(
            Self.exchange(online: AnswerFacts(ending: .reset), target: AnswerFacts(ending: .reset)).outcome() == .same)
        #expect(
            Self.exchange(online: AnswerFacts(ending: .silent), target: AnswerFacts(ending: .silent)).outcome() == .same
        )
        // Production reset, the target answered: a difference, seen as the first line.
        #expect(Self.exchange(online: AnswerFacts(ending: .reset), target: Self.ok).outcome() == .firstLineDiffers)
    }

    @Test func modesCompareLess() {
        var target = Self.ok
        target.digest = 0x2222_2222
        #expect(Self.exchange(target: target).outcome(mode: .length) == .same)
        target.comparedLength = 90
        #expect(Self.exchange(target: target).outcome(mode: .length) == .lengthDiffers)
        #expect(Self.exchange(target: target).outcome(mode: .firstLine) == .same)
        target.firstLine = "HTTP/1.1 404 Not Found"
        #expect(Self.exchange(target: target).outcome(mode: .firstLine) == .firstLineDiffers)
    }

    @Test func anAnswerNotWhollySeenIsNotSaidToDiffer() {
        var target = Self.ok
        target.digest = nil
        #expect(Self.exchange(target: target).outcome() == .same)
    }

    @Test func summaryCountsByKeyWithBoundedKeys() {
        var summary = CompareSummary(keyLimit: 2)
        summary.record(Self.exchange(target: Self.ok))
        summary.record(Self.exchange(target: AnswerFacts(ending: .silent)))
        summary.record(Self.exchange(target: Self.ok, request: "GET /b HTTP/1.1"))
        summary.record(Self.exchange(target: Self.ok, request: "GET /c HTTP/1.1"))
        summary.record(Self.exchange(target: Self.ok, request: "*3"))
        #expect(summary.rows.map(\.key) == ["GET /a", "GET /b", CompareSummary.otherKey])
        #expect(summary.rows[0].count(.same) == 1 && summary.rows[0].count(.targetSilent) == 1)
        #expect(summary.rows[2].exchanges == 2)
        #expect(summary.total.exchanges == 5)
        let table = summary.table()
        #expect(table.contains("GET /a"))
        #expect(table.split(separator: "\n").count == 5)
        var ports = CompareSummary()
        ports.record(Self.exchange(target: Self.ok, request: nil))
        #expect(ports.rows.map(\.key) == ["port 80"])
    }

    /// Exchanges made by the tracker keep their request's and answers' bytes, not strings: the
    /// same outcome, key, summary row and text as made from strings.
    @Test func exchangesKeptAsBytesReadAsText() {
        let connection = CompareConnection(
            clientAddress: .v4(IPv4Address(0x0A00_0901)), clientPort: 40000, servicePort: 80)
        func facts(_ head: String, digest: UInt32 = 0x1111_1111) -> AnswerFacts {
            AnswerFacts(
                ending: .answered, length: 100, comparedLength: 100, digest: digest, head: Array(head.utf8),
                latencyMicroseconds: 800)
        }
        let requests = [
            "GET /a?x=1 HTTP/1.1\r\nHost: h\r\n", "GET /a HTTP/1.0", "POST /b/c HTTP/1.1\n", "get /a HTTP/1.1",
            "GET /a HTTP/1.1 x", "GET  HTTP/1.1", " /a HTTP/1.1", "GET ?q HTTP/1.1", "GET /a FTP/1", "*3\r\n$3\r\n",
            "GET /\u{1}x HTTP/1.1", "", "GET /" + String(repeating: "x", count: 200) + " HTTP/1.1",
        ]
        var fromBytes = CompareSummary()
        var fromText = CompareSummary()
        for request in requests {
            for (online, target) in [
                (facts("HTTP/1.1 200 OK\r\n"), facts("HTTP/1.1 200 OK\r\nDate: x")),
                (facts("HTTP/1.1 200 OK\r\n"), facts("HTTP/1.1 500 Oops\r\n")),
                (facts("HTTP/1.1 200 OK"), facts("HTTP/1.1 200 OK", digest: 2)), (facts("\u{0}\u{1}"), facts("")),
            ] {
                let bytes = Exchange(
                    connection: connection, number: 2, requestHead: Array(request.utf8), online: online,
                    target: target)
                let text = Exchange(
                    session: "10.0.9.1:40000", number: 2, port: 80,
                    requestFirstLine: TextFirstLine.extract(request.utf8),
                    online: AnswerFacts(
                        ending: .answered, length: 100, digest: online.digest, firstLine: online.firstLine,
                        latencyMicroseconds: 800),
                    target: AnswerFacts(
                        ending: .answered, length: 100, digest: target.digest, firstLine: target.firstLine,
                        latencyMicroseconds: 800))
                #expect(bytes == text, "\(request)")
                #expect(bytes.session == text.session && bytes.requestFirstLine == text.requestFirstLine)
                #expect(bytes.outcome() == text.outcome(), "\(request)")
                #expect(bytes.key == text.key, "\(request)")
                fromBytes.record(bytes)
                fromText.record(text)
            }
        }
        #expect(fromBytes.rows == fromText.rows)
        #expect(fromBytes.total == fromText.total)
        #expect(fromBytes.rows.map(\.key).contains("GET /a") && fromBytes.rows.map(\.key).contains("port 80"))
        #expect(CompareOutcome.allCases.map(\.index) == Array(CompareOutcome.allCases.indices))
    }

    @Test func histogramPercentilesAreClose() {
        var histogram = LatencyHistogram()
        for value in 1...1000 { histogram.record(microseconds: UInt64(value) * 100) }  // 0.1 ms ... 100 ms
        let p50 = histogram.percentile(0.5)!
        let p99 = histogram.percentile(0.99)!
        #expect(abs(p50 - 50_000) / 50_000 < 0.03)
        #expect(abs(p99 - 99_000) / 99_000 < 0.03)
        #expect(LatencyHistogram().percentile(0.5) == nil)
        var extremes = LatencyHistogram()
        extremes.record(microseconds: 0)
        extremes.record(microseconds: 1_000_000_000_000)
        #expect(extremes.total == 2)
    }
}

@Suite struct CompareLogTests {
    static let record = CompareLogRecord(
        exchange: Exchange(
            session: "10.0.9.1:40000", number: 3, port: 80, requestFirstLine: "GET /say?\"q\"\\ HTTP/1.1",
            online: AnswerFacts(
                ending: .answered, length: 151, comparedLength: 116, digest: 0x0A0C_3F12, firstLine: "HTTP/1.1 200 OK",
                latencyMicroseconds: 812),
            target: AnswerFacts(ending: .reset)),
        outcome: .targetReset)

    @Test func roundTrip() throws {
        let line = CompareLogCodec.encode(Self.record)
        #expect(!line.contains("\n"))
        #expect(
            line.hasPrefix(#"{"session":"10.0.9.1:40000","exchange":3,"port":80,"request":"GET /say?\"q\"\\ HTTP/1.1""#)
        )
        #expect(line.contains(#""online_digest":"0a0c3f12""#))
        #expect(line.contains(#""target_digest":null"#))
        #expect(try CompareLogCodec.decode(line) == Self.record)
    }

    @Test func controlCharactersAndUnicodeRoundTrip() throws {
        var record = Self.record
        record.exchange.requestFirstLine = "a\u{1}b\tc é 😀"
        #expect(try CompareLogCodec.decode(CompareLogCodec.encode(record)) == record)
        let escaped = try CompareLogCodec.decode(
            CompareLogCodec.encode(record).replacingOccurrences(of: "😀", with: "\\ud83d\\ude00"))
        #expect(escaped == record)
    }

    @Test func badLinesAreErrorsNotCrashes() {
        let good = CompareLogCodec.encode(Self.record)
        for bad in [
            "", "{", "[]", "{\"session\":1}", String(good.dropLast()), good + "x",
            good.replacingOccurrences(of: "compare_target_reset", with: "compare_nonsense"),
            good.replacingOccurrences(of: "\"port\":80", with: "\"port\":70000"),
            good.replacingOccurrences(of: "0a0c3f12", with: "0a0c3f1"),
            good.replacingOccurrences(of: "\"exchange\":3", with: "\"exchange\":3.5"),
            good.replacingOccurrences(of: "\"exchange\":3", with: "\"exchange\":{}"),
        ] {
            #expect(throws: CompareLogError.self) { try CompareLogCodec.decode(bad) }
        }
    }
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}

@Suite struct AnswerFactsTests {
    @Test func factsOfADigestedAnswer() {
        var digest = AnswerDigest(filter: HeaderMaskFilter(maskedHeaders: ["Date"]))
        let answer = Array("HTTP/1.1 404 Not Found\r\nDate: today\r\n\r\nnope".utf8)
        digest.add(offset: 0, answer)
        let facts = AnswerFacts(answer: digest, latencyMicroseconds: 5)
        #expect(facts.ending == .answered && facts.firstLine == "HTTP/1.1 404 Not Found")
        #expect(facts.length == UInt64(answer.count))
        #expect(facts.comparedLength == UInt64(answer.count - "Date: today\r\n".utf8.count))
        #expect(facts.digest != nil)
        let none = AnswerFacts(answer: AnswerDigest(), ending: .reset, latencyMicroseconds: nil)
        #expect(none.ending == .reset && none.length == 0 && none.firstLine == nil)
    }
}
