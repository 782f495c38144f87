#!/usr/bin/env python3
"""Hostile packets for the end-to-end tests, sent from the client namespace.

    packets.py malformed IFACE DST_MAC SRC DST DPORT [--repeat N]
        Sends each malformed case N times (default 5) as a raw frame on IFACE (AF_PACKET, so
        that nothing about the IP header is fixed up by the kernel), and prints one line per
        case: "case NAME sent=N expect=REASON" where REASON is the counter the case should
        reach in tcpcopy's stats ("not_delivered" when the online host's kernel drops it before any
        raw socket sees it).
    packets.py flood SRC DST DPORT COUNT
        Sends COUNT SYNs from SRC to DST:DPORT from random source ports with an IP_HDRINCL raw
        socket; prints "flood sent=N secs=S".
    packets.py dataflood NET DST DPORT COUNT
        Sends COUNT ACK segments with one byte of data from random addresses in NET (a /16
        given by its first two octets, e.g. 10.100) and random ports to DST:DPORT: connections
        nobody saw open, as a spoofing neighbour would send them; prints "dataflood sent=N secs=S".

Bounded by its counts; sends only to the addresses it is given (the lab's namespaces).
"""
import random, socket, struct, sys, time

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF

def ip4(text):
    return socket.inet_aton(text)

def tcp_header(src, dst, sport, dport, seq, ack, flags, payload=b"", doff=None, options=b""):
    words = doff if doff is not None else 5 + len(options) // 4
    head = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, words << 4, flags, 64240, 0, 0) + options
    pseudo = ip4(src) + ip4(dst) + struct.pack("!BBH", 0, 6, len(head) + len(payload))
    check = csum(pseudo + head + payload)
    return head[:16] + struct.pack("!H", check) + head[18:] + payload

def ip_packet(src, dst, body, proto=6, ihl=None, total=None, frag=0x4000, options=b"", ident=0x1234):
    words = ihl if ihl is not None else 5 + len(options) // 4
    length = total if total is not None else 20 + len(options) + len(body)
    head = struct.pack("!BBHHHBBH4s4s", 0x40 | (words & 0xF), 0, length & 0xFFFF, ident, frag, 64, proto, 0,
                       ip4(src), ip4(dst)) + options
    head = head[:10] + struct.pack("!H", csum(head)) + head[12:]
    return head + body

SYN, FIN, RST, PSH, ACK, URG = 0x02, 0x01, 0x04, 0x08, 0x10, 0x20

def malformed_cases(src, dst, dport):
    """(name, packet bytes or list of fragments, expected counter)."""
    rnd = random.Random(7)
    def port():
        return rnd.randrange(20000, 60000)
    data = b"GET /hostile HTTP/1.1\r\nHost: x\r\n\r\n"
    cases = []
    # Dropped by the online kernel's IP input before any raw socket: not seen by tcpcopy.
    good = ip_packet(src, dst, tcp_header(src, dst, port(), dport, 1, 1, ACK | PSH, data))
    cases.append(("truncated_ip_header", good[:12], "not_delivered"))
    hdr = bytearray(good[:40]); hdr[0] = 0x44  # IHL 4
    hdr[10:12] = b"\0\0"; hdr[10:12] = struct.pack("!H", csum(bytes(hdr[:16])))
    cases.append(("ihl_below_5", bytes(hdr), "not_delivered"))
    cases.append(("ihl_beyond_packet", ip_packet(src, dst, b"\0" * 8, ihl=15), "not_delivered"))
    cases.append(("total_length_beyond_packet",
                  ip_packet(src, dst, tcp_header(src, dst, port(), dport, 1, 1, ACK), total=1400), "not_delivered"))
    bad = bytearray(good); bad[10] ^= 0xFF
    cases.append(("bad_ip_checksum", bytes(bad), "not_delivered"))
    udp = struct.pack("!HHHH", port(), dport, 8 + len(data), 0) + data
    cases.append(("not_tcp_udp", ip_packet(src, dst, udp, proto=17), "not_delivered"))
    cases.append(("not_tcp_icmp", ip_packet(src, dst, struct.pack("!BBHHH", 8, 0, 0, 1, 1), proto=1), "not_delivered"))
    seg = tcp_header(src, dst, port(), dport, 1, 1, ACK | PSH, data)
    cases.append(("lone_fragment", ip_packet(src, dst, seg[:24], frag=0x2000, ident=0x4321), "not_delivered"))
    # Reach tcpcopy's raw socket; its parser drops them with a reason.
    body = tcp_header(src, dst, port(), dport, 1, 1, ACK)
    cases.append(("data_offset_beyond_packet", ip_packet(src, dst, body[:12] + bytes([15 << 4]) + body[13:]),
                  "malformed_bad_data_offset"))
    cases.append(("data_offset_below_5", ip_packet(src, dst, body[:12] + bytes([2 << 4]) + body[13:]),
                  "malformed_bad_data_offset"))
    for name, flags in (("syn_fin", SYN | FIN), ("syn_rst", SYN | RST), ("null_flags", 0),
                        ("xmas_fin_psh_urg", FIN | PSH | URG), ("fin_only", FIN)):
        cases.append((name, ip_packet(src, dst, tcp_header(src, dst, port(), dport, rnd.randrange(1 << 32), 0, flags)),
                      "malformed_bad_flags"))
    # Well-formed oddities: parsed normally, counted as what they are (no session of ours).
    cases.append(("ip_options_with_data",
                  ip_packet(src, dst, tcp_header(src, dst, port(), dport, 1, 1, ACK | PSH, data), options=b"\x01\x01\x01\x00"),
                  "no_session"))
    frag_seg = tcp_header(src, dst, port(), dport, 1, 1, ACK | PSH, data)
    ident = 0x5000
    cases.append(("fragmented_data", [
        ip_packet(src, dst, frag_seg[:24], frag=0x2000, ident=ident, total=20 + 24),
        ip_packet(src, dst, frag_seg[24:], frag=3, ident=ident, total=20 + len(frag_seg) - 24),
    ], "no_session"))
    cases.append(("zero_length_ack_urg_psh", ip_packet(src, dst, tcp_header(src, dst, port(), dport, 5, 5, ACK | URG | PSH)),
                  "stray_control"))
    return cases

def malformed(args):
    iface, mac, src, dst, dport = args[:5]
    repeat = int(args[6]) if len(args) > 6 and args[5] == "--repeat" else 5
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    address = (iface, 0x0800, 0, 0, bytes.fromhex(mac.replace(":", "")))
    for name, packet, expect in malformed_cases(src, dst, int(dport)):
        pieces = packet if isinstance(packet, list) else [packet]
        for _ in range(repeat):
            for piece in pieces:
                sock.sendto(piece, address)
            time.sleep(0.002)
        print("case %s sent=%d expect=%s" % (name, repeat, expect))

def flood(args):
    src, dst, dport, count = args[0], args[1], int(args[2]), int(args[3])
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    rnd = random.Random(1)
    start = time.monotonic()
    sent = 0
    # Templates: only the port, sequence number and checksum change per SYN.
    for i in range(count):
        sport = 1024 + rnd.randrange(64512)
        packet = ip_packet(src, dst, tcp_header(src, dst, sport, dport, rnd.randrange(1 << 32), 0, SYN))
        while True:
            try:
                sock.sendto(packet, (dst, 0))
                sent += 1
                break
            except (BlockingIOError, OSError) as error:
                if getattr(error, "errno", None) not in (11, 105):  # EAGAIN, ENOBUFS
                    raise
                time.sleep(0.001)
    print("flood sent=%d secs=%.1f" % (sent, time.monotonic() - start))

def dataflood(args):
    net, dst, dport, count = args[0], args[1], int(args[2]), int(args[3])
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    rnd = random.Random(2)
    prefix = ip4(net + ".0.0")[:2]
    dst_bytes = ip4(dst)
    # Header templates packed once; per packet only the address, port, sequence number and the
    # two checksums change (the IP checksum is left to the kernel: IP_HDRINCL fills it in).
    start = time.monotonic()
    sent = 0
    for i in range(count):
        src_bytes = prefix + struct.pack("!H", 1 + rnd.randrange(65534))
        sport = 1024 + rnd.randrange(64512)
        head = struct.pack("!HHIIBBHHH", sport, dport, rnd.randrange(1 << 32), rnd.randrange(1 << 32),
                           5 << 4, ACK | PSH, 64240, 0, 0)
        check = csum(src_bytes + dst_bytes + b"\0\x06\0\x15" + head + b"x")
        tcp = head[:16] + struct.pack("!H", check) + head[18:] + b"x"
        packet = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 41, 0, 0x4000, 64, 6, 0, src_bytes, dst_bytes) + tcp
        while True:
            try:
                sock.sendto(packet, (dst, 0))
                sent += 1
                break
            except (BlockingIOError, OSError) as error:
                if getattr(error, "errno", None) not in (11, 105):  # EAGAIN, ENOBUFS
                    raise
                time.sleep(0.001)
    print("dataflood sent=%d secs=%.1f" % (sent, time.monotonic() - start))

if __name__ == "__main__":
    modes = {"malformed": malformed, "flood": flood, "dataflood": dataflood}
    if len(sys.argv) < 2 or sys.argv[1] not in modes:
        sys.exit(__doc__)
    modes[sys.argv[1]](sys.argv[2:])
