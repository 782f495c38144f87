import Testing

@testable import TCPCopyCore

@Suite struct AnswerDigestTests {
    static let answer = Array(
        ("HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Mon, 07 Dec 2026 01:00:00 GMT\r\nContent-Length: 12\r\n"
            + "X-Request-Id: 4f1c\r\n\r\nhello world\n").utf8)

    /// Cuts `bytes` at `cuts` into (offset, slice) segments.
    static func segments(_ bytes: [UInt8], cuts: [Int]) -> [(UInt64, ArraySlice<UInt8>)] {
        let bounds = [0] + cuts.sorted() + [bytes.count]
        return zip(bounds, bounds.dropFirst()).map { (UInt64($0), bytes[$0..<$1]) }
    }

    static func digest(_ segments: [(UInt64, ArraySlice<UInt8>)], masking: [String] = []) -> AnswerDigest {
        var digest = AnswerDigest(filter: HeaderMaskFilter(maskedHeaders: masking))
        for (offset, bytes) in segments { digest.add(offset: offset, bytes) }
        return digest
    }

    @Test func sameBytesCutAnywhereDigestAlike() {
        let whole = CRC32C.checksum(Self.answer)
        for cuts in [
            [], [1], [17], [40, 41, 42], Array(stride(from: 3, to: Self.answer.count, by: 5)),
            Array(1..<Self.answer.count),
        ] {
            let digest = Self.digest(Self.segments(Self.answer, cuts: cuts))
            #expect(digest.digest == whole)
            #expect(digest.digestedLength == UInt64(Self.answer.count))
            #expect(TextFirstLine.extract(digest.head) == "HTTP/1.1 200 OK")
        }
    }

    @Test func duplicatesOverlapsAndReorderingChangeNothing() {
        let whole = CRC32C.checksum(Self.answer)
        var generator = SplitMix(seed: 25)
        for _ in 0..<200 {
            var pieces = Self.segments(
                Self.answer, cuts: (0..<6).map { _ in Int.random(in: 1..<Self.answer.count, using: &generator) })
            // Retransmissions: repeats, and overlapping re-cut ranges.
            for _ in 0..<3 {
                let start = Int.random(in: 0..<Self.answer.count, using: &generator)
                let end = Int.random(in: start...Self.answer.count, using: &generator)
                pieces.append((UInt64(start), Self.answer[start..<end]))
            }
            pieces += pieces.prefix(2)
            pieces.shuffle(using: &generator)
            #expect(Self.digest(pieces).digest == whole)
        }
    }

    @Test func aHoleLeavesNoDigest() {
        var digest = AnswerDigest()
        digest.add(offset: 0, Self.answer[0..<10])
        digest.add(offset: 20, Self.answer[20...])
        #expect(digest.digest == nil)
        #expect(digest.highestEnd == UInt64(Self.answer.count))
        digest.add(offset: 10, Self.answer[10..<20])
        #expect(digest.digest == CRC32C.checksum(Self.answer))
    }

    @Test func tooMuchAheadOfAHoleIsGivenUpNotGuessed() {
        var digest = AnswerDigest(pendingLimit: 16)
        digest.add(offset: 1, Self.answer[1..<40])
        digest.add(offset: 0, Self.answer[0..<1])
        #expect(digest.overflowed)
        #expect(digest.digest == nil)
    }

    @Test func combinedSegmentCRCsMatchTheWholeInAnyOrder() {
        let whole = CRC32C.checksum(Self.answer)
        var generator = SplitMix(seed: 3)
        for _ in 0..<50 {
            var pieces = Self.segments(
                Self.answer, cuts: (0..<5).map { _ in Int.random(in: 1..<Self.answer.count, using: &generator) })
            pieces += pieces.prefix(2)  // repeats
            pieces.shuffle(using: &generator)
            var combiner = SegmentCRCCombiner()
            for (offset, bytes) in pieces {
                combiner.add(offset: offset, length: UInt64(bytes.count), crc: CRC32C.checksum(bytes))
            }
            #expect(combiner.digest == whole)
        }
    }

    @Test func aPartialOverlapOfCRCsIsUnjoinable() {
        var combiner = SegmentCRCCombiner()
        combiner.add(offset: 0, length: 10, crc: CRC32C.checksum(Self.answer[0..<10]))
        combiner.add(offset: 5, length: 10, crc: CRC32C.checksum(Self.answer[5..<15]))
        #expect(combiner.digest == nil)
    }
}

@Suite struct HeaderMaskFilterTests {
    static let masked = Array(
        ("HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 12\r\n\r\nhello world\n").utf8)

    static func filtered(_ bytes: [UInt8], cuts: [Int], masking: [String]) -> [UInt8] {
        var filter = HeaderMaskFilter(maskedHeaders: masking)
        var output: [UInt8] = []
        for (_, piece) in AnswerDigestTests.segments(bytes, cuts: cuts) { filter.filter(piece, into: &output) }
        return output
    }

    @Test func maskedLinesAreDroppedWhereverTheSegmentsAreCut() {
        let answer = AnswerDigestTests.answer
        for cuts in [[], [20], [33, 34, 35], Array(1..<answer.count)] {
            let output = Self.filtered(answer, cuts: cuts, masking: ["date", "X-REQUEST-ID"])
            #expect(output == Self.masked, "cuts \(cuts)")
        }
    }

    @Test func differentDatesDigestAlikeWhenMasked() {
        let other = Array(
            ("HTTP/1.1 200 OK\r\nServer: nginx\r\nDATE: Tue, 08 Dec 2026 23:59:59 GMT\r\nContent-Length: 12\r\n"
                + "X-Request-Id: 99999999\r\n\r\nhello world\n").utf8)
        let a = AnswerDigestTests.digest(
            AnswerDigestTests.segments(AnswerDigestTests.answer, cuts: [50]), masking: ["Date", "X-Request-Id"])
        let b = AnswerDigestTests.digest(
            AnswerDigestTests.segments(other, cuts: [7, 60]), masking: ["Date", "X-Request-Id"])
        #expect(a.digest == b.digest)
        #expect(a.digestedLength == b.digestedLength)
        #expect(a.digest == CRC32C.checksum(Self.masked))
        let unmasked = AnswerDigestTests.digest(AnswerDigestTests.segments(other, cuts: []))
        #expect(unmasked.digest != a.digest)
    }

    @Test func theBodyAndTheFirstLineAreNeverMasked() {
        let answer = Array("Date: x\r\nDate: y\r\n\r\nDate: z\r\n".utf8)
        #expect(Self.filtered(answer, cuts: [3], masking: ["Date"]) == Array("Date: x\r\n\r\nDate: z\r\n".utf8))
    }

    @Test func bareLineFeedsAndLongNamesPass() {
        let long = String(repeating: "A", count: 100)
        let answer = Array("HTTP/1.0 200 OK\nDate: x\n\(long): y\nNoColon\n\nbody Date: q\n".utf8)
        #expect(
            Self.filtered(answer, cuts: [16, 70], masking: ["date"])
                == Array("HTTP/1.0 200 OK\n\(long): y\nNoColon\n\nbody Date: q\n".utf8))
    }

    @Test func withoutMasksItIsTheIdentity() {
        let answer = AnswerDigestTests.answer
        #expect(Self.filtered(answer, cuts: [5, 9], masking: []) == answer)
    }
}

@Suite struct TextFirstLineTests {
    @Test func textAnswers() {
        #expect(
            TextFirstLine.extract(Array("HTTP/1.1 500 Internal Server Error\r\nA: b\r\n".utf8))
                == "HTTP/1.1 500 Internal Server Error")
        #expect(TextFirstLine.extract(Array("+OK\r\n".utf8)) == "+OK")
        #expect(TextFirstLine.extract(Array("-ERR unknown command 'foo'\r\n".utf8)) == "-ERR unknown command 'foo'")
        #expect(TextFirstLine.extract(Array(":1\r\n".utf8)) == ":1")
        #expect(TextFirstLine.extract(Array("250 2.0.0 Ok: queued\r\n".utf8)) == "250 2.0.0 Ok: queued")
        #expect(TextFirstLine.extract(Array("partial".utf8)) == "partial")
    }

    @Test func binaryAndEmptyHaveNone() {
        #expect(TextFirstLine.extract([0x00, 0x01, 0x41]) == nil)
        #expect(TextFirstLine.extract(Array("ab\u{1}c\r\n".utf8)) == nil)
        #expect(TextFirstLine.extract(Array("\r\nx".utf8)) == nil)
        #expect(TextFirstLine.extract([UInt8]()) == nil)
    }

    @Test func longLinesAreCut() {
        let line = TextFirstLine.extract(Array(String(repeating: "x", count: 500).utf8))
        #expect(line?.count == TextFirstLine.limit)
    }

    @Test func httpKeys() {
        #expect(TextFirstLine.httpKey(ofRequestLine: "GET /status?id=7 HTTP/1.1") == "GET /status")
        #expect(TextFirstLine.httpKey(ofRequestLine: "POST / HTTP/1.0") == "POST /")
        #expect(TextFirstLine.httpKey(ofRequestLine: "*3") == nil)
        #expect(TextFirstLine.httpKey(ofRequestLine: "get / HTTP/1.1") == nil)
    }
}
