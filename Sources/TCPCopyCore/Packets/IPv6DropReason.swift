/// Why an IPv6 packet was not used. The reasons both families share carry the raw values of
/// `PacketDropReason`, so that the counters stay one set; the IPv6-only ones are to be added
/// to `PacketDropReason` when the engines take IPv6 (this enum then goes away).
public enum IPv6DropReason: String, CaseIterable, Sendable, Error {
    /// Fewer than the fixed header's 40 bytes.
    case truncatedIPHeader = "truncated_ip_header"
    /// The payload length is shorter than the headers it must hold.
    case badTotalLength = "bad_total_length"
    /// A fragment header with an offset or more fragments to come: counted, not reassembled.
    case fragment = "fragment"
    /// An upper layer other than TCP (UDP, ICMPv6).
    case notTCP = "not_tcp"
    case truncatedTCPHeader = "truncated_tcp_header"
    case badDataOffset = "bad_data_offset"
    case truncatedPayload = "truncated_payload"
    case badFlags = "bad_flags"

    /// The version field is not 6.
    case notIPv6 = "not_ipv6"
    /// An extension header that runs past the bytes held.
    case truncatedExtensionHeader = "truncated_ipv6_extension"
    /// A hop-by-hop options header anywhere but first, which RFC 8200 §4.1 forbids and
    /// Linux drops.
    case misplacedHopByHop = "misplaced_hop_by_hop"
    /// ESP or AH (we cannot see through them), "no next header", another extension we do not
    /// walk, or a chain longer than any real stack sends.
    case unsupportedExtensionHeader = "unsupported_ipv6_extension"

    /// The same reason in the IPv4 parser's set, nil for the IPv6-only ones.
    public var packetDropReason: PacketDropReason? { PacketDropReason(rawValue: rawValue) }
}
