/// A connection as the online server sees it.
struct CaptureKey: FlatTableKey {
    var clientAddress: IPv4Address
    var clientPort: UInt16
    var onlineAddress: IPv4Address
    var onlinePort: UInt16

    /// Tells apart every client of one online address and port (see `hashWord`).
    var word: UInt64 { hashWord(clientAddress, clientPort, onlineAddress, onlinePort) }

    static var placeholder: CaptureKey {
        CaptureKey(clientAddress: IPv4Address(0), clientPort: 0, onlineAddress: IPv4Address(0), onlinePort: 0)
    }
}
