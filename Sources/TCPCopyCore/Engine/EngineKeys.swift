/// A connection as the online server sees it.
struct CaptureKey: FlatTableKey {
    var clientAddress: IPAddress
    var clientPort: UInt16
    var onlineAddress: IPAddress
    var onlinePort: UInt16

    /// Tells apart every client of one online address and port (see `hashWord`).
    var word: UInt64 { hashWord(clientAddress, clientPort, onlineAddress, onlinePort) }

    static var placeholder: CaptureKey {
        CaptureKey(clientAddress: .v4(IPv4Address(0)), clientPort: 0, onlineAddress: .v4(IPv4Address(0)), onlinePort: 0)
    }
}
