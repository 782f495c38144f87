#!/usr/bin/env python3
"""A stand-in for intercept whose control stream goes bad: it answers tcpcopy's hello with a
valid welcome, then, after --delay seconds, writes bytes that are no frame. tcpcopy must drop
the link (counted as control_links_corrupt) and reconnect. Serves --connections connections at
most, then exits; every wait is bounded."""
import argparse
import socket
import struct
import time


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def frame(kind: int, body: bytes) -> bytes:
    head = b"TC" + struct.pack("!BBH", kind, 0, len(body))
    return head + struct.pack("!H", checksum(head + body)) + body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=36524)
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--connections", type=int, default=3)
    args = parser.parse_args()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", args.port))
    listener.listen(4)
    listener.settimeout(60)
    for number in range(args.connections):
        connection, peer = listener.accept()
        connection.settimeout(5)
        hello = connection.recv(10)
        version = hello[8:10] if len(hello) == 10 else b"\0\1"
        connection.sendall(frame(2, version))
        print(f"connection {number + 1} from {peer[0]}: welcomed, garbage in {args.delay} s", flush=True)
        time.sleep(args.delay)
        connection.sendall(b"NOT A FRAME AT ALL")
        time.sleep(0.2)
        connection.close()


if __name__ == "__main__":
    main()
