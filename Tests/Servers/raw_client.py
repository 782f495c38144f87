#!/usr/bin/env python3
"""A TCP client in user space, over a raw socket, that chooses its own initial sequence number.

The kernel picks ISNs at random, so a stream crossing 2^32 (or 2^31, where wrap-aware
comparisons turn around) is too rare to test by chance. This client plays TCP itself: a
handshake with the ISN given, keep-alive HTTP requests (answered by record_server.py), acks,
and a FIN close. With --scramble it sends each request's segments out of order, duplicated and
overlapping (what a lossy, reordering path makes the capture see). It is simple (data not
acknowledged is sent again after 300 ms) and meant for a lab link only.

The kernel does not know these connections and would reset them, so the caller must drop the
kernel's resets first, in the client namespace:
    iptables -A OUTPUT -p tcp --sport LOW:HIGH --tcp-flags RST RST -j DROP

Usage: raw_client.py --source IP --server IP --port 80 --first-port 41000 \
          --isn 4294967295 --isn 4294967000 ... --requests 20 [--body 65536]
One connection per --isn, from ports first-port, first-port + 1, ...; they run one after another.
"""

import argparse
import random
import select
import socket
import struct
import sys
import time
import zlib

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
MOD = 1 << 32
MSS = 1400
TIMEOUT = 10.0


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def seq_after(a: int, b: int) -> bool:
    """a is after b, modulo 2^32."""
    return 0 < (a - b) % MOD < (1 << 31)


class Connection:
    def __init__(self, args, sport, isn):
        self.args = args
        self.src = socket.inet_aton(args.source)
        self.dst = socket.inet_aton(args.server)
        self.sport, self.dport = sport, args.port
        self.isn = isn % MOD
        self.snd_nxt = self.isn
        self.snd_una = self.isn
        self.rcv_nxt = 0
        self.peer_fin = False
        # --timestamps START: our TSval starts there (near 2^32 it wraps), +1 per segment.
        self.tsval = args.timestamps
        self.ts_recent = 0
        self.received = bytearray()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)

    def send(self, flags, payload=b"", seq=None, options=b""):
        seq = self.snd_nxt if seq is None else seq
        if self.tsval is not None:
            self.tsval = (self.tsval + 1) % MOD
            options += struct.pack("!BBBBII", 1, 1, 8, 10, self.tsval,
                                   self.ts_recent if flags & ACK else 0)
        offset = (20 + len(options)) // 4
        header = struct.pack("!HHIIBBHHH", self.sport, self.dport, seq % MOD,
                             self.rcv_nxt % MOD if flags & ACK else 0, offset << 4, flags,
                             65535, 0, 0) + options
        pseudo = self.src + self.dst + struct.pack("!BBH", 0, socket.IPPROTO_TCP,
                                                   len(header) + len(payload))
        csum = checksum(pseudo + header + payload)
        header = header[:16] + struct.pack("!H", csum) + header[18:]
        self.sock.sendto(header + payload, (self.args.server, 0))

    def receive(self, timeout):
        """The next TCP segment of this connection: (seq, ack, flags, payload) or None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                return None
            packet = self.sock.recv(65535)
            ihl = (packet[0] & 0x0F) * 4
            if packet[12:16] != self.dst or packet[16:20] != self.src:
                continue
            tcp = packet[ihl:]
            sport, dport, seq, ack, off, flags = struct.unpack("!HHIIBB", tcp[:14])
            if sport != self.dport or dport != self.sport:
                continue
            total = struct.unpack("!H", packet[2:4])[0]
            self.note_timestamp(tcp[20 : (off >> 4) * 4])
            payload = packet[ihl + (off >> 4) * 4 : total]
            return seq, ack, flags, payload

    def note_timestamp(self, options):
        i = 0
        while i < len(options):
            kind = options[i]
            if kind == 0:
                return
            if kind == 1:
                i += 1
                continue
            if i + 1 >= len(options) or options[i + 1] < 2:
                return
            if kind == 8 and options[i + 1] == 10:
                self.ts_recent = struct.unpack("!I", options[i + 2 : i + 6])[0]
            i += options[i + 1]

    def handle(self, segment):
        seq, ack, flags, payload = segment
        if flags & RST:
            raise RuntimeError("reset by the server")
        if flags & ACK and seq_after(ack, self.snd_una) and not seq_after(ack, self.snd_nxt):
            self.snd_una = ack
        if payload or flags & FIN:
            if seq == self.rcv_nxt:
                self.received += payload
                self.rcv_nxt = (self.rcv_nxt + len(payload) + (1 if flags & FIN else 0)) % MOD
                if flags & FIN:
                    self.peer_fin = True
            self.send(ACK)  # also re-acks anything out of order or repeated

    def connect(self):
        mss = struct.pack("!BBH", 2, 4, 1460)
        for _ in range(5):
            self.send(SYN, seq=self.isn, options=mss)
            deadline = time.monotonic() + 1.0
            while True:
                segment = self.receive(deadline - time.monotonic())
                if segment is None:
                    break
                seq, ack, flags, _ = segment
                if flags & SYN and flags & ACK and ack == (self.isn + 1) % MOD:
                    self.rcv_nxt = (seq + 1) % MOD
                    self.snd_nxt = self.snd_una = (self.isn + 1) % MOD
                    self.send(ACK)
                    return
        raise RuntimeError("no SYN-ACK")

    def scrambled(self, data, start):
        """The first transmission with --scramble: segments of --segment bytes in a random
        order, one of them twice, and one overlapping two others."""
        size = self.args.segment
        pieces = [(o, min(size, len(data) - o)) for o in range(0, len(data), size)]
        if len(pieces) > 1:
            pieces.append((size // 2, min(size, len(data) - size // 2)))
        pieces.append(random.choice(pieces))
        random.shuffle(pieces)
        for offset, length in pieces:
            self.send(ACK | PSH, data[offset : offset + length], seq=start + offset)

    def write(self, data, fin=False):
        """Sends data in MSS segments and waits until all of it is acknowledged. With fin, the
        last segment carries the FIN (a client that sends its request and closes at once)."""
        if fin:
            return self.write_with_fin(data)
        start = self.snd_nxt
        end = (start + len(data)) % MOD
        deadline = time.monotonic() + TIMEOUT
        if self.args.scramble:
            self.scrambled(data, start)
            self.snd_nxt = end
            waited = time.monotonic() + 0.3
            while self.snd_una != end:
                segment = self.receive(waited - time.monotonic())
                if segment is None:
                    break
                self.handle(segment)
        while self.snd_una != end:
            if time.monotonic() > deadline:
                raise RuntimeError("data not acknowledged")
            # (Re)send everything not acknowledged yet.
            offset = (self.snd_una - start) % MOD
            while offset < len(data):
                chunk = data[offset : offset + MSS]
                self.send(ACK | (PSH if offset + len(chunk) == len(data) else 0), chunk,
                          seq=start + offset)
                offset += len(chunk)
            self.snd_nxt = end
            waited = time.monotonic() + 0.3
            while self.snd_una != end:
                segment = self.receive(waited - time.monotonic())
                if segment is None:
                    break
                self.handle(segment)

    def write_with_fin(self, data):
        start = self.snd_nxt
        end = (start + len(data) + 1) % MOD
        deadline = time.monotonic() + TIMEOUT
        while self.snd_una != end:
            if time.monotonic() > deadline:
                raise RuntimeError("data and FIN not acknowledged")
            offset = (self.snd_una - start) % MOD
            while offset < len(data):
                chunk = data[offset : offset + MSS]
                last = offset + len(chunk) == len(data)
                self.send(ACK | (PSH | FIN if last else 0), chunk, seq=start + offset)
                offset += len(chunk)
            if offset == len(data) and self.snd_una == (start + len(data)) % MOD:
                self.send(FIN | ACK, seq=start + len(data))
            self.snd_nxt = end
            waited = time.monotonic() + 0.3
            while self.snd_una != end:
                segment = self.receive(waited - time.monotonic())
                if segment is None:
                    break
                self.handle(segment)

    def wait_closed(self):
        """After our FIN went with the data: the server's FIN, acknowledged by handle()."""
        deadline = time.monotonic() + TIMEOUT
        while not self.peer_fin:
            if time.monotonic() > deadline:
                raise RuntimeError("the server never closed")
            segment = self.receive(deadline - time.monotonic())
            if segment is not None:
                self.handle(segment)

    def read_response(self):
        deadline = time.monotonic() + TIMEOUT
        while True:
            end = self.received.find(b"\r\n\r\n")
            if end >= 0:
                head = bytes(self.received[: end + 4])
                length = 0
                crc = None
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                    elif name.strip().lower() == b"x-request-crc":
                        crc = int(value, 16)
                if len(self.received) >= end + 4 + length:
                    del self.received[: end + 4 + length]
                    return crc
            if self.peer_fin or time.monotonic() > deadline:
                raise RuntimeError("no complete response")
            segment = self.receive(deadline - time.monotonic())
            if segment is not None:
                self.handle(segment)

    def close(self):
        deadline = time.monotonic() + TIMEOUT
        fin_seq = self.snd_nxt
        while time.monotonic() < deadline:
            self.send(FIN | ACK, seq=fin_seq)
            self.snd_nxt = (fin_seq + 1) % MOD
            waited = time.monotonic() + 0.3
            while time.monotonic() < waited:
                segment = self.receive(waited - time.monotonic())
                if segment is None:
                    break
                self.handle(segment)
            if self.snd_una == self.snd_nxt and self.peer_fin:
                return
        raise RuntimeError("close did not complete")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--source", required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--first-port", type=int, default=41000)
    parser.add_argument("--isn", type=int, action="append", required=True)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--body", type=int, default=0, help="POST bodies of this size")
    parser.add_argument("--scramble", action="store_true",
                        help="each request's segments out of order, one twice, one overlapping")
    parser.add_argument("--timestamps", type=int, default=None, metavar="START",
                        help="send TCP timestamps, TSval from START (+1 per segment, wrapping)")
    parser.add_argument("--close-with-data", action="store_true",
                        help="the last request's last segment carries the FIN")
    parser.add_argument("--segment", type=int, default=MSS, help="segment size with --scramble")
    args = parser.parse_args()
    ok = 0
    errors = []
    for n, isn in enumerate(args.isn):
        c = Connection(args, args.first_port + n, isn)
        try:
            c.connect()
            for i in range(args.requests):
                body = random.randbytes(args.body) if args.body else b""
                head = "%s /isn%d/%d HTTP/1.1\r\nHost: online.lab\r\nX-Pad: %s\r\n" % (
                    "POST" if body else "GET", n, i, "w" * (i * 7 % 50))
                if body:
                    head += "Content-Length: %d\r\n" % len(body)
                request = head.encode() + b"\r\n" + body
                last = i == args.requests - 1
                c.write(request, fin=last and args.close_with_data)
                if c.read_response() != zlib.crc32(request):
                    raise RuntimeError("answer %d is not for the request sent" % i)
                ok += 1
            if args.close_with_data:
                c.wait_closed()
            else:
                c.close()
        except RuntimeError as error:
            errors.append("isn %d (port %d): %s" % (isn, c.sport, error))
        finally:
            c.sock.close()
    expected = len(args.isn) * args.requests
    print("client: raw: %d connections, %d of %d answers right from the online server"
          % (len(args.isn), ok, expected), flush=True)
    for error in errors:
        print("client: error: %s" % error, flush=True)
    return 0 if ok == expected and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
