import Glibc
import Logging
import TCPCopyCore
import Testing

@testable import TCPCopyIO

/// The intercept's end of a socketpair: reads what tcpcopy sent and answers as the test says.
private final class FakeIntercept {
    let connection: ControlConnection

    init(_ descriptor: FileDescriptor) {
        connection = ControlConnection(descriptor: descriptor, peer: "fake", outputCapacity: 1 << 16, now: .zero)
    }

    func answer(_ messages: ControlMessage...) {
        for message in messages { connection.send(message) }
        try? connection.flush()
    }

    /// Everything tcpcopy has written so far.
    func received() -> [ControlMessage] {
        var messages: [ControlMessage] = []
        _ = connection.read(into: &messages)
        return messages
    }
}

/// `InterceptLinks` with one target, whose every connection attempt is a socketpair with a
/// `FakeIntercept` on the other end; time is whatever each call says it is.
private final class Harness {
    static let token: UInt64 = 16
    let target = IPv4Address(10, 0, 0, 2)
    let loop: EventLoop
    let links: InterceptLinks<IPv4Address>
    /// One per connection attempt, the last the newest.
    private let fakes: Box<[FakeIntercept]>
    var changes: [InterceptLinks<IPv4Address>.Change] = []
    let start = MonotonicTime(milliseconds: 1_000_000)

    init() throws {
        loop = try EventLoop()
        let fakes = Box<[FakeIntercept]>([])
        self.fakes = fakes
        links = InterceptLinks(
            targets: [target], loop: loop, firstToken: Self.token, port: 36524,
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        ) { target, now throws(InterceptHandshakeError) in
            var ends: [Int32] = [0, 0]
            let flags = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
            guard socketpair(AF_UNIX, flags, 0, &ends) == 0 else {
                throw .connection(SystemCallError("socketpair", errno: errno))
            }
            fakes.value.append(FakeIntercept(FileDescriptor(ends[1])))
            return InterceptLink(
                descriptor: FileDescriptor(ends[0]), peer: "\(target)", timeoutMilliseconds: 3000,
                outputCapacity: 1 << 16, now: now)
        }
    }

    var fake: FakeIntercept { fakes.value.last! }
    var attempts: Int { fakes.value.count }

    func maintain(at offset: Int64) {
        links.maintain(now: start + offset, changes: &changes)
        links.flushAll(now: start + offset, changes: &changes)
    }

    /// Brings the link up through a reconnection at `offset` (it starts down, as when
    /// intercept was full at start-up): hello, welcome, up.
    func bringUp(at offset: Int64 = 500) {
        links.startWithoutSlot(target, now: start + (offset - 500), changes: &changes)
        changes.removeAll()
        maintain(at: offset)  // connects
        maintain(at: offset)  // hello
        _ = fake.received()
        fake.answer(.welcome(version: ControlMessage.protocolVersion))
        maintain(at: offset + 10)  // welcome
    }

    /// An input event on the target's link.
    func readable(at offset: Int64, handling handle: (ControlEvent) -> Void = { _ in }) {
        let event = EventLoop.Event(token: Self.token, readable: true, writable: false, failed: false)
        links.handle(event, now: start + offset, changes: &changes, handling: handle)
    }
}

private final class Box<Value> {
    var value: Value
    init(_ value: Value) { self.value = value }
}

private func key(_ port: UInt16) -> RouteKey {
    RouteKey(
        clientAddress: .v4(IPv4Address(192, 168, 0, 9)), clientPort: port, targetAddress: .v4(IPv4Address(10, 0, 0, 2)),
        targetPort: 80)
}

@Suite("InterceptLinks over a socketpair")
struct InterceptLinksTests {
    @Test("hello answered by welcome brings the link up; heartbeats follow every 2 s")
    func welcomeBringsTheLinkUp() throws {
        let harness = try Harness()
        harness.links.startWithoutSlot(harness.target, now: harness.start, changes: &harness.changes)
        #expect(harness.changes == [.down(harness.target)])
        harness.changes.removeAll()
        harness.maintain(at: 499)
        #expect(harness.attempts == 0, "no attempt before the backoff's first delay")
        harness.maintain(at: 500)
        harness.maintain(at: 500)
        #expect(harness.fake.received() == [.hello(version: ControlMessage.protocolVersion)])
        #expect(harness.links.settingUp)
        harness.fake.answer(.welcome(version: ControlMessage.protocolVersion))
        harness.maintain(at: 510)
        #expect(harness.changes == [.up(harness.target, attempts: 1)])
        #expect(harness.links.established[harness.target] != nil)
        #expect(harness.links.backoffs.isEmpty && !harness.links.settingUp)

        harness.maintain(at: 510 + 2000)
        #expect(harness.fake.received() == [.heartbeat])
    }

    @Test("silence past the dead time takes the link down and schedules a reconnection")
    func silenceTakesTheLinkDown() throws {
        let harness = try Harness()
        harness.bringUp()
        harness.changes.removeAll()
        harness.maintain(at: 510 + 5000)
        #expect(harness.changes.isEmpty, "5 s of silence is not yet dead")
        harness.maintain(at: 510 + 7000)
        #expect(harness.changes == [.down(harness.target)])
        #expect(harness.links.established.isEmpty)
        #expect(harness.links.failures == 1)
        let backoff = try #require(harness.links.backoffs[harness.target])
        #expect(backoff.nextAttempt == harness.start + 510 + 7000 + 500)
    }

    @Test("goodbye(too many connections) to hello is retried with a doubled backoff")
    func tooManyIsRetried() throws {
        let harness = try Harness()
        harness.links.startWithoutSlot(harness.target, now: harness.start, changes: &harness.changes)
        harness.changes.removeAll()
        harness.maintain(at: 500)
        harness.maintain(at: 500)
        harness.fake.answer(.goodbye(.tooManyConnections))
        harness.maintain(at: 510)
        #expect(harness.changes.isEmpty && !harness.links.settingUp)
        let backoff = try #require(harness.links.backoffs[harness.target])
        #expect(backoff.failures == 1)
        #expect(backoff.nextAttempt == harness.start + 510 + 1000)

        harness.maintain(at: 1509)
        #expect(harness.attempts == 1)
        harness.maintain(at: 1510)
        harness.maintain(at: 1510)
        #expect(harness.attempts == 2)
        #expect(harness.fake.received() == [.hello(version: ControlMessage.protocolVersion)])
        harness.fake.answer(.welcome(version: ControlMessage.protocolVersion))
        harness.maintain(at: 1520)
        #expect(harness.changes == [.up(harness.target, attempts: 2)])
    }

    @Test("goodbye on an established link takes it down at once")
    func goodbyeTakesTheLinkDown() throws {
        let harness = try Harness()
        harness.bringUp()
        harness.changes.removeAll()
        harness.fake.answer(.goodbye(.shuttingDown))
        var seen: [ControlEvent] = []
        harness.readable(at: 600) { seen.append($0) }
        #expect(seen.count == 1)
        #expect(harness.changes == [.down(harness.target)])
        #expect(harness.links.send(.heartbeat, to: harness.target) == nil)
    }

    @Test("registrations are replayed on the link re-established after a loss")
    func registrationsAreReplayed() throws {
        let harness = try Harness()
        harness.bringUp()
        #expect(harness.links.send(.register(key(1000)), to: harness.target) == true)
        harness.maintain(at: 600)
        #expect(harness.fake.received() == [.register(key(1000))])
        harness.maintain(at: 510 + 7000)
        #expect(harness.links.send(.register(key(1001)), to: harness.target) == nil)
        harness.changes.removeAll()

        harness.maintain(at: 510 + 7500)
        harness.maintain(at: 510 + 7500)
        harness.fake.answer(.welcome(version: ControlMessage.protocolVersion))
        harness.maintain(at: 510 + 7510)
        #expect(harness.changes == [.up(harness.target, attempts: 1)])
        harness.links.replay([key(1000), key(1001)], to: harness.target, attempts: 1)
        harness.maintain(at: 510 + 7520)
        #expect(
            harness.fake.received() == [
                .hello(version: ControlMessage.protocolVersion), .register(key(1000)), .register(key(1001)),
            ])
        #expect(harness.links.registrationsReplayed == 2)
    }

    @Test("refused(owned by another) is counted by reason, and the link stays up")
    func refusalsAreCounted() throws {
        let harness = try Harness()
        harness.bringUp()
        harness.changes.removeAll()
        harness.fake.answer(.refused(key(1000), .ownedByAnother), .refused(key(1001), .totalCap))
        harness.readable(at: 600)
        #expect(harness.links.registrationsRefused[.ownedByAnother] == 1)
        #expect(harness.links.registrationsRefused[.totalCap] == 1)
        #expect(harness.changes.isEmpty)
        #expect(harness.links.established[harness.target] != nil)
    }

    @Test("handshake failures read as what to do, and refusals are not retried at start-up")
    func handshakeErrorsSayWhatToDo() {
        #expect(InterceptHandshakeError.notAllowed.description.contains("refused this host"))
        #expect(InterceptHandshakeError.notAllowed.isRefusal)
        #expect(InterceptHandshakeError.secretRequired.description.contains("--secret-file"))
        #expect(!InterceptHandshakeError.tooManyConnections.isRefusal)
    }
}
