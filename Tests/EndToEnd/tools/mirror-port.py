#!/usr/bin/env python3
"""A switch's mirror port in software: copies every frame seen on one interface (both
directions, read from an AF_PACKET socket) into a TAP or TUN device, so that a capture on that
device sees what a production host sees on a tagged trunk or an ipip tunnel, without the vlan or
ipip kernel modules this lab's kernel lacks.

usage: mirror-port.py SOURCE_IFACE DEVICE KIND SECONDS
KIND: vlan (one 802.1Q tag, VLAN 100, into the TAP device DEVICE), qinq (802.1ad VLAN 200
around 802.1Q VLAN 100, TAP), raw (the bare IPv4 packet into the TUN device DEVICE, as a
tunl0 delivers it after decapsulation).
Frames written to the device's file descriptor are received by the kernel on DEVICE: a capture
there sees them as incoming. Stops after SECONDS (bounded), on SIGTERM, or when its input ends.
Prints one line at the start and the frames copied at the end.
"""
import fcntl
import os
import select
import signal
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
ETH_P_ALL = 0x0003
TAGS = {"vlan": b"\x81\x00\x00\x64", "qinq": b"\x88\xa8\x00\xc8\x81\x00\x00\x64"}


def mirrored(frame: bytes, kind: str) -> bytes:
    macs, ethertype, payload = frame[:12], frame[12:14], frame[14:]
    if kind == "raw":
        return payload if ethertype == b"\x08\x00" else b""
    return macs + TAGS[kind] + ethertype + payload


def main() -> int:
    if len(sys.argv) != 5 or sys.argv[3] not in ("vlan", "qinq", "raw"):
        print(__doc__, file=sys.stderr)
        return 2
    source, device, kind, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    tun = os.open("/dev/net/tun", os.O_RDWR)
    flags = (IFF_TUN if kind == "raw" else IFF_TAP) | IFF_NO_PI
    fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", device.encode(), flags))
    tap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    tap.bind((source, ETH_P_ALL))
    tap.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    print(f"mirroring {source} into {device} as {kind}", flush=True)
    copied = 0
    deadline = time.monotonic() + seconds
    while not stop and time.monotonic() < deadline:
        ready, _, _ = select.select([tap], [], [], 0.2)
        if not ready:
            continue
        frame = tap.recv(262144)
        out = mirrored(frame, kind)
        if out:
            os.write(tun, out)
            copied += 1
    print(f"copied={copied}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
