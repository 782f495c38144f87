import TCPCopyCore

/// intercept's part of `tcpcopy --compare` (`AnswerReporter`): only for packets of routes a
/// tcpcopy asked to compare, and only while any is.
extension InterceptDaemon {
    /// Sends the answer pieces of one queued packet (whole, with `--compare`; `packet` is the
    /// engine's parse of it; the pieces' head bytes are encoded from it) to the tcpcopy that owns its route, stamped with intercept's
    /// monotonic clock.
    func reportAnswer(
        _ packet: TCPPacket, _ bytes: UnsafeRawBufferPointer, engine: inout InterceptEngine<UInt64>,
        in run: inout ForwardingRun
    ) {
        answerPieces.removeAll(keepingCapacity: true)
        guard
            let token = engine.answers.observe(
                packet, bytes, stampMicroseconds: UInt64(monotonicMicroseconds()), into: &answerPieces),
            let link = connection(for: token, in: &run)
        else { return }
        for piece in answerPieces {
            _ = link.sendAnswerPiece(piece, head: UnsafeRawBufferPointer(rebasing: bytes[piece.head]))
        }
    }

    /// The stats line's compare counters (`answer_pieces`, `answer_repeats_skipped`,
    /// `compared_routes`).
    static func compareCounters(_ reporter: AnswerReporter<UInt64>) -> AnswerReportCounters {
        var counters = AnswerReportCounters()
        counters.pieces = reporter.piecesReported
        counters.repeatsSkipped = reporter.repeatsSkipped
        counters.routes = reporter.streamCount
        return counters
    }
}
