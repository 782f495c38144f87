#!/usr/bin/env python3
"""Client side of the fidelity tests: real-world conversations against record_server.py.

Runs in the client namespace against the online server. Every request carries its connection
and request number, so each connection's byte stream is unique and the comparator can match
the target's copies by content. Each conversation checks the online server's answers (their
X-Request-CRC must be the CRC of the request sent) and exits non-zero if any is wrong: that
would be a broken lab, not a tcpcopy failure.

Conversations (the first argument):
  keepalive  --conns C --requests R        R requests per connection, each after the previous
                                           response (--size N: ask for N-byte answers;
                                           --pause-ms M --pause-every K: idle between)
  pipeline   --conns C --depth D --rounds R  D requests in one write, then D responses; R times
  post       --sizes 1024,65536,4194304    one connection per size (a POST of that body), and
                                           one keep-alive connection with all of them
  continue100 --sizes ...                  POSTs with "Expect: 100-continue": headers, wait for
                                           "100 Continue", body, answer (as curl does)
  rst        --conns C                     2 requests, then half a POST and SO_LINGER 0 close
  halfclose  --conns C --requests R        R pipelined requests, shutdown(SHUT_WR), read all
  greeting   --conns C --requests R        wait for the banner, R commands, QUIT
  preopen    --conns C --before B --requests R --ready-file F --go-file G --skip-file S
                                           B requests, then signal ready and wait for go
                                           (tcpcopy starts meanwhile), then R more requests;
                                           S gets "IP PORT OFFSET" per connection;
                                           --midstream N: half an N-byte POST before go
  portreuse  --conns C                     C connections in turn from one port, one request each
                                           (the server closes first: --close-after 1)
  mixed                                    keepalive, pipeline, post (1 KB, 64 KB), halfclose
                                           at once
"""

import argparse
import errno
import os
import socket
import struct
import sys
import threading
import time
import zlib

TIMEOUT = 30.0


class Failure(Exception):
    pass


class Conversation:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.ok = 0
        self.errors = []
        self.connections = 0

    # -- plumbing

    def connect(self):
        sock = socket.create_connection((self.args.server, self.args.port), timeout=TIMEOUT)
        sock.settimeout(TIMEOUT)
        with self.lock:
            self.connections += 1
        return sock

    def counted(self, n=1):
        with self.lock:
            self.ok += n

    def run_parallel(self, functions):
        threads = [threading.Thread(target=self.guard, args=(f,)) for f in functions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def guard(self, function):
        try:
            function()
        except Exception as error:  # reported, and fails the run
            with self.lock:
                self.errors.append("%s: %s" % (getattr(function, "__name__", "?"), error))

    # -- HTTP

    @staticmethod
    def request(tag, index, body=b"", size=None):
        query = "?size=%d" % size if size is not None else ""
        method = "POST" if body else "GET"
        # A pad whose length varies keeps request sizes (and so response sizes) varied.
        pad = "p" * ((index * 37 + len(tag) * 11) % 97)
        head = (
            "%s /%s/%d%s HTTP/1.1\r\nHost: online.lab\r\nUser-Agent: fidelity-client\r\n"
            "X-Pad: %s\r\n" % (method, tag, index, query, pad)
        )
        if body:
            head += "Content-Type: application/octet-stream\r\nContent-Length: %d\r\n" % len(body)
        return head.encode() + b"\r\n" + body

    @staticmethod
    def read_response(sock, buffer):
        """One HTTP response from sock (buffer holds bytes read beyond the previous one)."""
        while b"\r\n\r\n" not in buffer:
            data = sock.recv(65536)
            if not data:
                raise Failure("connection closed before a response header")
            buffer += data
        end = buffer.index(b"\r\n\r\n") + 4
        head = bytes(buffer[:end])
        length, crc = 0, None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"x-request-crc":
                crc = int(value, 16)
        while len(buffer) < end + length:
            data = sock.recv(262144)
            if not data:
                raise Failure("connection closed inside a response body")
            buffer += data
        del buffer[: end + length]
        return crc

    def expect(self, crc, request):
        if crc != zlib.crc32(request):
            raise Failure("response CRC %r is not the request's %08x" % (crc, zlib.crc32(request)))
        self.counted()

    def http_exchange(self, sock, buffer, request):
        sock.sendall(request)
        self.expect(self.read_response(sock, buffer), request)

    # -- conversations

    def keepalive(self):
        a = self.args

        def one(c):
            def run():
                sock, buffer = self.connect(), bytearray()
                for i in range(a.requests):
                    if a.pause_ms and i and i % a.pause_every == 0:
                        time.sleep(a.pause_ms / 1000.0)
                    self.http_exchange(sock, buffer, self.request("ka%d" % c, i, size=a.size))
                sock.close()
            run.__name__ = "keepalive-%d" % c
            return run

        self.run_parallel([one(c) for c in range(a.conns)])
        return a.conns * a.requests

    def pipeline(self):
        a = self.args

        def one(c):
            def run():
                sock, buffer = self.connect(), bytearray()
                for r in range(a.rounds):
                    batch = [self.request("pl%d-r%d" % (c, r), i, size=a.size)
                             for i in range(a.depth)]
                    sock.sendall(b"".join(batch))
                    for request in batch:
                        self.expect(self.read_response(sock, buffer), request)
                sock.close()
            run.__name__ = "pipeline-%d" % c
            return run

        self.run_parallel([one(c) for c in range(a.conns)])
        return a.conns * a.rounds * a.depth

    def post(self):
        sizes = [int(s) for s in self.args.sizes.split(",")]

        def single(size):
            def run():
                sock, buffer = self.connect(), bytearray()
                body = os.urandom(size)
                self.http_exchange(sock, buffer, self.request("post%d" % size, 0, body))
                sock.close()
            run.__name__ = "post-%d" % size
            return run

        def keepalive():
            sock, buffer = self.connect(), bytearray()
            for i, size in enumerate(sizes):
                body = os.urandom(size)
                self.http_exchange(sock, buffer, self.request("postka", i, body))
            sock.close()

        self.run_parallel([single(s) for s in sizes] + [keepalive])
        return 2 * len(sizes)

    def continue100(self):
        """POSTs with "Expect: 100-continue", as curl sends any body above 1 KB: the headers,
        then the body only after the server's "100 Continue", then the final answer. One
        connection per size, and one keep-alive connection with all of them."""
        sizes = [int(s) for s in self.args.sizes.split(",")]

        def exchange(sock, buffer, tag, index, size):
            body = os.urandom(size)
            request = self.request(tag, index, body)
            end = request.index(b"\r\n\r\n")
            head = request[:end] + b"\r\nExpect: 100-continue\r\n\r\n"
            whole = head + body
            sock.sendall(head)
            while b"\r\n\r\n" not in buffer:
                data = sock.recv(65536)
                if not data:
                    raise Failure("closed before 100 Continue")
                buffer += data
            interim = buffer.index(b"\r\n\r\n") + 4
            if not buffer.startswith(b"HTTP/1.1 100 "):
                raise Failure("expected 100 Continue, got %r" % bytes(buffer[:40]))
            del buffer[:interim]
            sock.sendall(body)
            self.expect(self.read_response(sock, buffer), whole)

        def single(size):
            def run():
                sock, buffer = self.connect(), bytearray()
                exchange(sock, buffer, "c100-%d" % size, 0, size)
                sock.close()
            run.__name__ = "continue100-%d" % size
            return run

        def keepalive():
            sock, buffer = self.connect(), bytearray()
            for i, size in enumerate(sizes):
                exchange(sock, buffer, "c100ka", i, size)
            sock.close()

        self.run_parallel([single(s) for s in sizes] + [keepalive])
        return 2 * len(sizes)

    def rst(self):
        a = self.args

        def one(c):
            def run():
                sock, buffer = self.connect(), bytearray()
                for i in range(2):
                    self.http_exchange(sock, buffer, self.request("rst%d" % c, i))
                whole = self.request("rst%d" % c, 2, os.urandom(65536))
                sock.sendall(whole[: len(whole) // 2])
                # Let the online server read what was sent before the reset (a reset discards
                # what the receiver has not read yet: this is about the reset, not that race).
                time.sleep(0.5)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.close()
            run.__name__ = "rst-%d" % c
            return run

        self.run_parallel([one(c) for c in range(a.conns)])
        return a.conns * 2

    def halfclose(self):
        a = self.args

        def one(c):
            def run():
                sock, buffer = self.connect(), bytearray()
                batch = [self.request("hc%d" % c, i) for i in range(a.requests)]
                sock.sendall(b"".join(batch))
                sock.shutdown(socket.SHUT_WR)
                for request in batch:
                    self.expect(self.read_response(sock, buffer), request)
                if sock.recv(1) != b"":
                    raise Failure("data after the last response")
                sock.close()
            run.__name__ = "halfclose-%d" % c
            return run

        self.run_parallel([one(c) for c in range(a.conns)])
        return a.conns * a.requests

    @staticmethod
    def read_line(sock, buffer):
        while b"\n" not in buffer:
            data = sock.recv(4096)
            if not data:
                raise Failure("connection closed before a line")
            buffer += data
        end = buffer.index(b"\n") + 1
        line = bytes(buffer[:end])
        del buffer[:end]
        return line

    def greeting(self):
        a = self.args

        def one(c):
            def run():
                sock, buffer = self.connect(), bytearray()
                banner = self.read_line(sock, buffer)
                if not banner.startswith(b"220 "):
                    raise Failure("banner %r" % banner)
                for i in range(a.requests):
                    line = b"CMD conn=%d n=%d %s\r\n" % (c, i, b"x" * ((i * 13) % 50))
                    sock.sendall(line)
                    reply = self.read_line(sock, buffer)
                    want = b"250 OK %d %08x\r\n" % (len(line), zlib.crc32(line))
                    if reply != want:
                        raise Failure("reply %r, expected %r" % (reply, want))
                    self.counted()
                sock.sendall(b"QUIT\r\n")
                if not self.read_line(sock, buffer).startswith(b"221 "):
                    raise Failure("no 221 after QUIT")
                sock.close()
            run.__name__ = "greeting-%d" % c
            return run

        self.run_parallel([one(c) for c in range(a.conns)])
        return a.conns * a.requests

    def preopen(self):
        a = self.args
        socks = []
        rests = {}
        for c in range(a.conns):
            sock, buffer = self.connect(), bytearray()
            sent = 0
            for i in range(a.before):
                request = self.request("po%d" % c, i)
                self.http_exchange(sock, buffer, request)
                sent += len(request)
            if a.midstream:
                # Half of a POST now, the rest after tcpcopy started: its capture begins in the
                # middle of a request.
                whole = self.request("po%d" % c, a.before, os.urandom(a.midstream))
                sock.sendall(whole[: len(whole) // 2])
                sent += len(whole) // 2
                rests[c] = whole
            socks.append((c, sock, buffer, sent))
        time.sleep(0.3)  # let the online server read all of it before tcpcopy starts
        with open(a.skip_file, "w") as f:
            for c, sock, buffer, sent in socks:
                ip, port = sock.getsockname()[:2]  # IPv6 adds flow info and scope id
                f.write("%s %d %d\n" % (ip, port, sent))
        open(a.ready_file, "w").close()
        deadline = time.monotonic() + TIMEOUT
        while not os.path.exists(a.go_file):
            if time.monotonic() > deadline:
                raise Failure("no go file %s within %d s" % (a.go_file, TIMEOUT))
            time.sleep(0.05)

        def one(c, sock, buffer):
            def run():
                if c in rests:
                    whole = rests[c]
                    sock.sendall(whole[len(whole) // 2 :])
                    self.expect(self.read_response(sock, buffer), whole)
                for i in range(a.before, a.before + a.requests):
                    self.http_exchange(sock, buffer, self.request("po%d" % c, i))
                sock.close()
            run.__name__ = "preopen-%d" % c
            return run

        self.run_parallel([one(c, s, b) for c, s, b, _ in socks])
        return a.conns * (a.before + a.requests + (1 if a.midstream else 0))

    def portreuse(self):
        """Connections one after another from one local port, each one request; the server
        closes first (record_server.py --close-after 1), so the port is free again at once."""
        a = self.args
        port = None
        for c in range(a.conns):
            # close() returns before the server's last ACK arrives; until it does, the old
            # connection holds the 4-tuple and connect() fails with EADDRNOTAVAIL (seen in CI on
            # a busy machine). Wait for it, up to 2 s.
            for attempt in range(200):
                family = socket.AF_INET6 if ":" in a.server else socket.AF_INET
                sock = socket.socket(family, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.settimeout(TIMEOUT)
                sock.bind(("", port or 0))
                port = sock.getsockname()[1]
                try:
                    sock.connect((a.server, a.port))
                    break
                except OSError as error:
                    sock.close()
                    if error.errno != errno.EADDRNOTAVAIL or attempt == 199:
                        raise
                    time.sleep(0.01)
            with self.lock:
                self.connections += 1
            buffer = bytearray()
            self.http_exchange(sock, buffer, self.request("reuse%d" % c, 0))
            if sock.recv(1) != b"":
                raise Failure("the server did not close after its answer")
            sock.close()
        return a.conns

    def mixed(self):
        a = self.args
        parts = []
        for name, values in (
            ("keepalive", dict(conns=3, requests=20)),
            ("pipeline", dict(conns=2, depth=4, rounds=5)),
            ("post", dict(sizes="1024,65536")),
            ("halfclose", dict(conns=2, requests=3)),
        ):
            sub = Conversation(argparse.Namespace(**{**vars(a), **values}))
            parts.append((sub, getattr(sub, name)))
        expected = [0]

        def runner(sub, method):
            def run():
                count = method()
                with self.lock:
                    expected[0] += count
                    self.ok += sub.ok
                    self.connections += sub.connections
                    self.errors.extend(sub.errors)
            run.__name__ = method.__name__
            return run

        self.run_parallel([runner(s, m) for s, m in parts])
        return expected[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("conversation", choices=[
        "keepalive", "pipeline", "post", "continue100", "rst", "halfclose", "greeting", "preopen",
        "portreuse", "mixed"])
    parser.add_argument("--server", required=True)
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--conns", type=int, default=4)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--depth", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--sizes", default="1024,65536,4194304")
    parser.add_argument("--pause-ms", type=int, default=0,
                        help="keepalive: idle this long after every --pause-every requests")
    parser.add_argument("--pause-every", type=int, default=1)
    parser.add_argument("--size", type=int, help="keepalive, pipeline: ask for answers this big")
    parser.add_argument("--before", type=int, default=2)
    parser.add_argument("--midstream", type=int, default=0, metavar="BYTES",
                        help="preopen: a POST of BYTES, half sent before tcpcopy starts")
    parser.add_argument("--ready-file")
    parser.add_argument("--go-file")
    parser.add_argument("--skip-file")
    args = parser.parse_args()
    conversation = Conversation(args)
    started = time.monotonic()
    expected = 0
    try:
        expected = getattr(conversation, args.conversation)()
    except Exception as error:
        conversation.errors.append(str(error))
    print("client: %s: %d connections, %d of %d answers right from the online server (%.1f s)"
          % (args.conversation, conversation.connections, conversation.ok, expected,
             time.monotonic() - started), flush=True)
    for error in conversation.errors[:10]:
        print("client: error: %s" % error, flush=True)
    return 0 if not conversation.errors and conversation.ok == expected else 1


if __name__ == "__main__":
    sys.exit(main())
