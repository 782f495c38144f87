#!/usr/bin/env python3
"""A hostile or broken control-port peer for intercept, for the end-to-end tests.

    control_peer.py MODE HOST PORT [--seconds S]

MODE:
  garbage      sends bytes that are not a frame
  version      sends hello(99)
  oversized    sends a frame header claiming a 65535-byte body, then the bytes
  long-body    sends a response frame one byte longer than the protocol allows
  silent       connects and sends nothing
  stall        hello, then heartbeats without ever reading (fills intercept's output cap)
  refused      hello, expecting goodbye(not allowed)

Prints one line: "result: MODE closed=yes|no goodbye=N|none welcome=yes|no sent=BYTES secs=S".
Bounded: it gives up after --seconds (default 20). Talks only to the address it is given.
"""
import argparse, socket, struct, sys, time

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF

def frame(kind, body):
    head = struct.pack("!HBBH", 0x5443, kind, 0, len(body))
    return head + struct.pack("!H", csum(head + body)) + body

def read_frames(data):
    """(goodbye reason or None, welcome seen) from whatever intercept sent."""
    goodbye, welcome, i = None, False, 0
    while i + 8 <= len(data):
        magic, kind, flags, length = struct.unpack("!HBBH", data[i:i + 6])
        if magic != 0x5443:
            break
        body = data[i + 8:i + 8 + length]
        if kind == 3 and len(body) == 2:
            goodbye = struct.unpack("!H", body)[0]
        if kind == 2:
            welcome = True
        i += 8 + length
    return goodbye, welcome

def drain(sock, deadline):
    """Reads until the peer closes or the deadline; returns (bytes, closed)."""
    data = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return data, False
        except (ConnectionResetError, BrokenPipeError):
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode")
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args()
    start = time.monotonic()
    deadline = start + args.seconds
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if args.mode == "stall":
        # A small receive buffer: the kernel holds little, so intercept's own cap fills.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect((args.host, args.port))
    hello = frame(1, struct.pack("!H", 4))  # protocol version 4
    sent = 0
    closed = False
    data = b""
    if args.mode == "garbage":
        payload = b"GET / HTTP/1.1\r\nHost: intercept\r\n\r\n" + bytes(range(256))
    elif args.mode == "version":
        payload = frame(1, struct.pack("!H", 99))
    elif args.mode == "oversized":
        head = struct.pack("!HBBH", 0x5443, 6, 0, 0xFFFF)
        payload = hello + head + struct.pack("!H", csum(head)) + b"\0" * 4096
    elif args.mode == "long-body":
        body = bytes([0x45]) + b"\0" * 120
        payload = hello + frame(6, body)
    elif args.mode in ("refused", "silent"):
        payload = hello if args.mode == "refused" else b""
    elif args.mode == "stall":
        payload = None
    else:
        sys.exit("unknown mode " + args.mode)

    if payload is not None:
        try:
            sock.sendall(payload)
            sent = len(payload)
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        if not closed:
            data, closed = drain(sock, deadline)
    else:
        sock.sendall(hello)
        sent = len(hello)
        beats = memoryview(frame(7, b"") * 65536)  # 512 KiB of heartbeats per round
        offset = 0
        sock.setblocking(False)
        while time.monotonic() < deadline and not closed:
            try:
                # A partial send resumes at the first unsent byte: the stream must stay framed.
                n = sock.send(beats[offset:])
                sent += n
                offset = (offset + n) % len(beats)
            except BlockingIOError:
                time.sleep(0.01)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
        # Never read until now: has intercept closed us (RST or FIN after the data)?
        if not closed:
            sock.setblocking(True)
            try:
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                closed = True
    goodbye, welcome = read_frames(data)
    print("result: %s closed=%s goodbye=%s welcome=%s sent=%d secs=%.1f" % (
        args.mode, "yes" if closed else "no", goodbye if goodbye is not None else "none",
        "yes" if welcome else "no", sent, time.monotonic() - start))

if __name__ == "__main__":
    main()
