#!/usr/bin/env python3
"""A stand-in for a tunnel: attaches to a tun device (no link header: ARPHRD_NONE) and sends
every IPv4 packet the kernel transmits on it out again through a raw IP socket, counting them.

tcpcopy -o TUN then writes its copies on a device without a link header, as it would on an ipip
or gre tunnel (kernels built without those still have tun). Runs until SIGTERM; prints one line
per second with the packets relayed and refused, and one at exit.
"""
import argparse
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
IFF_NO_PI = 0x1000


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", required=True)
    args = parser.parse_args()
    tun = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", args.device.encode(), IFF_TUN | IFF_NO_PI))
    out = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    relayed = refused = other = 0
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    print("tun_relay: attached to %s" % args.device, flush=True)
    last = time.monotonic()
    while running:
        ready, _, _ = select.select([tun], [], [], 0.2)
        if ready:
            packet = os.read(tun, 65536)
            if len(packet) >= 20 and packet[0] >> 4 == 4:
                try:
                    out.sendto(packet, (socket.inet_ntoa(packet[16:20]), 0))
                    relayed += 1
                except OSError:
                    refused += 1
            else:
                other += 1
        if time.monotonic() - last >= 1:
            last = time.monotonic()
            print("tun_relay stats: relayed=%d refused=%d other=%d" % (relayed, refused, other), flush=True)
    print("tun_relay stats: relayed=%d refused=%d other=%d" % (relayed, refused, other), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
