/// How frames are addressed on a device, from its link type (`ARPHRD_*`, as
/// `SIOCGIFHWADDR` reports it): the link-layer sink needs a next hop's MAC only on Ethernet.
public enum LinkAddressing: Equatable, Sendable {
    /// Ethernet and what presents itself as Ethernet (veth, bridges, VLAN and bond devices, most
    /// NICs): frames carry the next hop's 6-byte MAC.
    case ethernet
    /// No link header (ipip, ip6 tunnels, sit, gre, PPP, raw-IP and tun devices): packets leave
    /// as they are, with no address and no neighbour to resolve.
    case none

    public init?(hardwareType: Int32) {
        switch hardwareType {
        case 1: self = .ethernet
        // ARPHRD_PPP 512, RAWIP 519, TUNNEL 768, TUNNEL6 769, SIT 776, IPGRE 778, NONE 0xFFFE.
        case 512, 519, 768, 769, 776, 778, 0xFFFE: self = .none
        default: return nil
        }
    }

    /// Bytes of link-layer address each frame is given (`sockaddr_ll.sll_halen`).
    public var addressLength: Int { self == .ethernet ? 6 : 0 }
}
