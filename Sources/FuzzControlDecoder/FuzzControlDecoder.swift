// libFuzzer entry for the control decoder: any byte stream, fed in any pieces, yields whole
// valid messages or a protocol error, never a trap; every message decoded re-encodes to a frame
// that decodes to the same message; tcpcopy's way of reading (`nextEvent`), fed the same
// pieces, agrees message for message and fails where `next` fails. Built only by Scripts/fuzz.sh.
import TCPCopyCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzControlDecoder(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // The first byte sets the piece size (1...256), so partial frames are exercised.
    let piece = Int(bytes[0]) + 1
    let stream = bytes.dropFirst()
    var decoder = ControlDecoder()
    var events = ControlDecoder()
    var index = stream.startIndex
    var failed = false
    while index < stream.endIndex && !failed {
        let end = min(index + piece, stream.endIndex)
        decoder.append(stream[index..<end])
        events.append(stream[index..<end])
        index = end
        while true {
            do {
                guard let message = try decoder.next() else { break }
                var again = ControlDecoder()
                again.append(ControlEncoder.encode(message))
                let decodedAgain = try? again.next()
                precondition(decodedAgain == message, "a decoded message does not survive re-encoding")
                switch (try? events.nextEvent(), message) {
                case (.response(let packet)?, .response(let header)):
                    precondition(packet == header.packet, "nextEvent read another response")
                case (.message(let other)?, _):
                    precondition(other == message, "nextEvent read another message")
                default:
                    preconditionFailure("nextEvent disagrees with next")
                }
            } catch {
                precondition((try? events.nextEvent()) == nil && events.failure == decoder.failure)
                failed = true
                // Once corrupt, always corrupt: the rest of the stream is never trusted.
                precondition(decoder.failure != nil)
                break
            }
        }
        precondition(decoder.bufferedCount <= stream.count)
    }
    return 0
}

// SwiftPM links an executable's entry point as `<module>_main`; here it hands control to
// libFuzzer's driver with the function above (libFuzzer's own main is not used).
@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ body: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

@_cdecl("FuzzControlDecoder_main")
public func fuzzControlDecoderMain(
    _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
) -> CInt {
    var count = argc
    var arguments = argv
    return runFuzzerDriver(&count, &arguments, fuzzControlDecoder)
}
