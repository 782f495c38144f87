#!/usr/bin/env python3
"""Rewrites an Ethernet pcap (microsecond or nanosecond) into another link type, frame by frame,
so that one recording of real traffic can be replayed through each link layer tcpcopy reads.

usage: pcap-relink.py IN.pcap OUT.pcap KIND
KIND: vlan (one 802.1Q tag), qinq (802.1ad + 802.1Q), raw (LINKTYPE_RAW), null (DLT_NULL,
little-endian family), loop (DLT_LOOP, network order), nosyn (Ethernet without the handshakes'
SYN and SYN-ACK: every session is already open when the file starts)
"""
import struct
import sys

LINKTYPES = {"vlan": 1, "qinq": 1, "raw": 101, "null": 0, "loop": 108, "nosyn": 1}


def relink(frame: bytes, kind: str) -> bytes:
    macs, ethertype, payload = frame[:12], frame[12:14], frame[14:]
    if kind == "vlan":
        return macs + b"\x81\x00\x00\x64" + ethertype + payload
    if kind == "nosyn":
        tcp = 14 + (payload[0] & 0x0F) * 4 if ethertype == b"\x08\x00" and payload[9] == 6 else None
        return b"" if tcp is not None and frame[tcp + 13] & 0x02 else frame
    if kind == "qinq":
        return macs + b"\x88\xa8\x00\xc8\x81\x00\x00\x64" + ethertype + payload
    if ethertype != b"\x08\x00":
        return b""  # not IPv4: left out of the rewritten file
    if kind == "raw":
        return payload
    if kind == "null":
        return struct.pack("<I", 2) + payload
    return struct.pack(">I", 2) + payload


def main() -> None:
    source, target, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(source, "rb") as f:
        data = f.read()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    header = bytearray(data[:24])
    if struct.unpack(endian + "I", data[20:24])[0] != 1:
        sys.exit("pcap-relink: the input is not an Ethernet capture")
    struct.pack_into(endian + "I", header, 20, LINKTYPES[kind])
    out = [bytes(header)]
    offset = 24
    while offset + 16 <= len(data):
        seconds, fraction, captured, length = struct.unpack(endian + "IIII", data[offset : offset + 16])
        frame = data[offset + 16 : offset + 16 + captured]
        offset += 16 + captured
        new = relink(frame, kind)
        if new:
            out.append(struct.pack(endian + "IIII", seconds, fraction, len(new), length - captured + len(new)))
            out.append(new)
    with open(target, "wb") as f:
        f.write(b"".join(out))


if __name__ == "__main__":
    main()
