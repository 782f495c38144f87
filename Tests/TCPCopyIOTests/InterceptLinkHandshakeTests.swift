import Glibc
import TCPCopyCore
import Testing

@testable import TCPCopyIO

/// One `InterceptLink` set up over a socketpair: `answer` is what the intercept end writes
/// after reading hello; the result is what the handshake came to.
private func handshake(
    secret: [UInt8]? = nil, closing: Bool = false, answer: [ControlMessage]
) throws -> (InterceptLink.Progress, [ControlMessage]) {
    var ends: [Int32] = [0, 0]
    let flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    try #require(socketpair(AF_UNIX, flags, 0, &ends) == 0)
    let start = MonotonicTime(milliseconds: 5_000)
    let link = InterceptLink(
        descriptor: FileDescriptor(ends[0]), peer: "test", timeoutMilliseconds: 3000, outputCapacity: 1 << 16,
        now: start, secret: secret)
    var intercept: ControlConnection? = ControlConnection(
        descriptor: FileDescriptor(ends[1]), peer: "intercept", outputCapacity: 1 << 16, now: start)
    guard case .waiting = link.advance(now: start) else {
        Issue.record("the handshake ended before intercept answered")
        return (.waiting, [])
    }
    var heard: [ControlMessage] = []
    _ = intercept?.read(into: &heard)
    for message in answer { intercept?.send(message) }
    try intercept?.flush()
    if closing { intercept = nil }
    let progress = link.advance(now: start + 10)
    _ = intercept?.read(into: &heard)
    return (progress, heard)
}

@Suite("InterceptLink's handshake over a socketpair")
struct InterceptLinkHandshakeTests {
    @Test("hello, then welcome: established")
    func welcome() throws {
        let (progress, heard) = try handshake(answer: [.welcome(version: ControlMessage.protocolVersion)])
        guard case .established = progress else { Issue.record("\(progress)"); return }
        #expect(heard == [.hello(version: ControlMessage.protocolVersion)])
    }

    @Test("each goodbye to hello is its own error")
    func goodbyes() throws {
        let cases: [(GoodbyeReason, InterceptHandshakeError)] = [
            (.notAllowed, .notAllowed), (.tooManyConnections, .tooManyConnections),
            (.unsupportedVersion, .unsupportedVersion), (.handshakeTimeout, .timedOutByIntercept),
            (.badSecret, .secretRefused), (.shuttingDown, .unexpectedAnswer),
        ]
        for (reason, expected) in cases {
            let (progress, _) = try handshake(answer: [.goodbye(reason)])
            guard case .failed(let error) = progress else { Issue.record("\(reason): \(progress)"); continue }
            #expect("\(error)" == "\(expected)", "goodbye(\(reason))")
        }
    }

    @Test("a challenge without a secret fails; with one, the proof goes back")
    func challenge() throws {
        let nonce = [UInt8](repeating: 7, count: ControlHandshake.nonceLength)
        let (without, _) = try handshake(answer: [.challenge(nonce)])
        guard case .failed(.secretRequired) = without else { Issue.record("\(without)"); return }
        let secret: [UInt8] = Array("shared".utf8)
        let (with, heard) = try handshake(secret: secret, answer: [.challenge(nonce)])
        guard case .waiting = with else { Issue.record("\(with)"); return }
        #expect(heard.last == .proof(ControlHandshake.proof(secret: secret, nonce: nonce)))
    }

    @Test("intercept closing the connection fails the handshake")
    func closed() throws {
        let (closed, _) = try handshake(closing: true, answer: [])
        guard case .failed(.closedByIntercept) = closed else { Issue.record("\(closed)"); return }
    }
}
