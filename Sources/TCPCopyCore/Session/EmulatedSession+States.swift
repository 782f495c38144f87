/// The session's states, and what each says about the connection.
extension EmulatedSession {
    /// The state's name: `Phase` without its data.
    public enum State: Hashable, Sendable {
        case synSent, established, finWait1, finWait2, closeWait, lastAck, closing
        case closed(SessionOutcome)
    }

    /// The state with the data only it has; `fin` is the sequence number of our FIN. Each event
    /// is a `switch` on it.
    enum Phase: Sendable {
        /// Our SYN first went at `since`.
        case synSent(since: MonotonicTime)
        case established
        case finWait1(fin: SequenceNumber)
        /// Our FIN was acknowledged at `since`: the target has `finWait2Milliseconds` to close.
        case finWait2(fin: SequenceNumber, since: MonotonicTime)
        /// The target's FIN arrived (as in `closing` and `lastAck`).
        case closeWait
        case closing(fin: SequenceNumber)
        case lastAck(fin: SequenceNumber)
        case closed(SessionOutcome)

        var name: State {
            switch self {
            case .synSent: .synSent
            case .established: .established
            case .finWait1: .finWait1
            case .finWait2: .finWait2
            case .closeWait: .closeWait
            case .closing: .closing
            case .lastAck: .lastAck
            case .closed(let outcome): .closed(outcome)
            }
        }

        /// The states in which the client's stream goes to the target.
        var sendsClientData: Bool {
            switch self {
            case .established, .closeWait: true
            case .synSent, .finWait1, .finWait2, .closing, .lastAck, .closed: false
            }
        }

        /// Our FIN's sequence number, once sent.
        var ourFin: SequenceNumber? {
            switch self {
            case .finWait1(let fin), .finWait2(let fin, _), .closing(let fin), .lastAck(let fin): fin
            case .synSent, .established, .closeWait, .closed: nil
            }
        }

        /// Whether the target's FIN has arrived (a closed session receives nothing more).
        var targetFinReceived: Bool {
            switch self {
            case .closeWait, .closing, .lastAck, .closed: true
            case .synSent, .established, .finWait1, .finWait2: false
            }
        }
    }

    public var state: State { phase.name }

    public var isClosed: Bool {
        if case .closed = phase { return true }
        return false
    }
}
