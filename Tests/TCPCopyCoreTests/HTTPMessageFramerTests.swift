import Testing

@testable import TCPCopyCore

/// Where the framer says messages begin in `stream` read in `segments` (cut at `cuts`), and
/// whether it still frames at the end.
private func frame(_ text: String, _ kind: HTTPMessageFramer.Kind, cuts: [Int] = []) -> (starts: [Int], framing: Bool) {
    let stream = Array(text.utf8)
    var framer = HTTPMessageFramer(kind: kind)
    var starts: [Int] = []
    var position = 0
    let bounds = [0] + cuts.filter { $0 > 0 && $0 < stream.count }.sorted() + [stream.count]
    for (from, to) in zip(bounds, bounds.dropFirst()) where from < to {
        var rest = stream[from..<to]
        while !rest.isEmpty {
            guard framer.isFraming else {
                position += rest.count
                break
            }
            let startsHere = framer.atMessageStart
            let take = framer.read(rest)
            if take == 0 {
                #expect(framer.atMessageStart)
                continue
            }
            if startsHere { starts.append(position) }
            position += take
            rest = rest.dropFirst(take)
        }
    }
    return (starts, framer.isFraming)
}

/// Offsets of each part's first byte when `parts` are joined.
private func offsets(_ parts: [String]) -> [Int] {
    var offsets: [Int] = []
    var at = 0
    for part in parts {
        offsets.append(at)
        at += part.utf8.count
    }
    return offsets
}

@Suite struct HTTPMessageFramerTests {
    static let requests = [
        "GET /same HTTP/1.1\r\nHost: lab\r\n\r\n",
        "POST /form HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello=world",
        "PUT /chunks HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Trailer: 1\r\n\r\n",
        "HEAD /head HTTP/1.0\r\n\r\n",
        "DELETE /x?y=z HTTP/1.1\r\ncontent-length:0\r\n\r\n",
    ]

    static let answers = [
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\nA\r\n0123456789\r\n0\r\n\r\n",
        "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\nETag: \"x\"\r\n\r\n",
        // A HEAD request's answer: a length, no body.
        "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
        "HTTP/1.0 500 Oops\r\nContent-Length: 3\r\n\r\nbad",
        "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
    ]

    @Test func pipelinedRequestsAreFoundOneByOne() {
        let result = frame(Self.requests.joined(), .request)
        #expect(result.starts == offsets(Self.requests))
        #expect(result.framing)
    }

    @Test func pipelinedAnswersAreFoundOneByOne() {
        let result = frame(Self.answers.joined(), .answer)
        // The 100 Continue and its final answer are one answer.
        #expect(result.starts == offsets(Self.answers))
        #expect(result.framing)
    }

    /// Cut at every byte, and read byte by byte: the same starts.
    @Test(arguments: [HTTPMessageFramer.Kind.request, .answer])
    func everyCuttingFindsTheSameStarts(kind: HTTPMessageFramer.Kind) {
        let parts = kind == .request ? Self.requests : Self.answers
        let stream = parts.joined()
        let want = offsets(parts)
        for cut in 0...stream.utf8.count {
            #expect(frame(stream, kind, cuts: [cut]).starts == want, "cut at \(cut)")
        }
        #expect(frame(stream, kind, cuts: Array(0...stream.utf8.count)).starts == want)
    }

    @Test func bodiesAreSkippedWhateverTheyHold() {
        let body = "<p>HTTP/1.1 200 OK\r\n\r\nGET / HTTP/1.1\r\n\r\n"
        let answers = ["HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)", Self.answers[5]]
        #expect(frame(answers.joined(), .answer).starts == offsets(answers))
    }

    @Test func anotherProtocolStopsAtOnce() {
        for (text, kind) in [
            ("+OK\r\n+OK\r\n", HTTPMessageFramer.Kind.answer), ("PING\r\nPING\r\n", .request),
            ("*1\r\n$4\r\nPING\r\n", .request), ("GET / HTTP/2.0\r\n\r\n", .request),
            ("get / HTTP/1.1\r\n\r\n", .request), ("HTTP/1.1 2x0 OK\r\n\r\n", .answer),
        ] {
            let result = frame(text, kind)
            #expect(!result.framing, "\(text)")
            #expect(result.starts == [0])
        }
    }

    @Test func malformedHeadsStopTheFraming() {
        for text in [
            "HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n",
            "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "HTTP/1.1 200 OK\r\n folded: line\r\n\r\n",
        ] {
            #expect(!frame(text + Self.answers[5], .answer).framing, "\(text)")
        }
    }

    /// An answer without a length ends at the close; after a protocol switch nothing is HTTP.
    @Test func closeDelimitedAndSwitchedStreamsStop() {
        let closeDelimited = frame("HTTP/1.1 200 OK\r\n\r\nall of it" + Self.answers[5], .answer)
        #expect(closeDelimited.starts == [0])
        #expect(!closeDelimited.framing)
        let switched = frame("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n" + Self.answers[5], .answer)
        #expect(switched.starts == [0])
        #expect(!switched.framing)
    }

    @Test func abandonStops() {
        var framer = HTTPMessageFramer(kind: .answer)
        #expect(framer.atMessageStart)
        framer.abandon()
        #expect(!framer.isFraming)
        #expect(!framer.atMessageStart)
        #expect(framer.read(Array("HTTP/1.1 200 OK\r\n".utf8)) == 17)
    }
}
