#!/usr/bin/env python3
"""A TCP server for the fidelity tests: records every byte each connection sent it.

Each accepted connection's received bytes go to DIR/conn-<accept order>-<client ip>-<port>.bin
as they arrive, and one line per event to DIR/connections.log:

    open  ORDER IP PORT
    close ORDER IP PORT BYTES REQUESTS REASON      REASON: eof, reset, server-close,
                                                  spoke-before-greeting, stopped

It answers in one of two protocols, so that the online server and the target answer a copied
conversation identically (same sizes, same content), which is what tcpcopy's request gate
relies on:

  HTTP (default): every complete request (headers, then Content-Length bytes of body;
    pipelined requests are answered in order) gets "200 OK" with a body whose size comes from
    the request: ?size=N in the request line, or 64 + crc32(request) % 1024. The response
    carries X-Request-CRC and X-Request-Bytes so a client can check it was answered for the
    bytes it sent. "Expect: 100-continue" gets "100 Continue" once the headers are in
    (unless --no-continue).
  --greeting: the server speaks first ("220 ... ready"), then answers each line with
    "250 OK <length> <crc32>", and "QUIT" with "221 bye" and a close. With
    --greeting-delay-ms N it greets after N ms, and a client that has sent anything by then is
    refused ("554", close; reason spoke-before-greeting), as SMTP servers do.

--size-percent P makes HTTP bodies P% of that size (a target whose answers differ from the
online server's). --delay-ms N waits N ms before each response (a slow server); --stall-ms N waits N ms after
accepting before reading at all (a slow reader: the window closes).
--close-after N closes the connection after its Nth response (a server ending a keep-alive
connection the client would go on using), lingering as nginx does. A half-close from the client
(EOF) is answered (complete requests) and then closed; a reset is recorded as such. Runs until
SIGTERM/SIGINT.
"""

import argparse
import os
import signal
import socket
import sys
import threading
import time
import zlib

GREETING = b"220 record_server ready; speak after me\r\n"
MAX_RESPONSE = 8 << 20


def response_size(request: bytes) -> int:
    line = request.split(b"\r\n", 1)[0]
    marker = line.find(b"size=")
    if marker >= 0:
        digits = b""
        for byte in line[marker + 5 :]:
            if 48 <= byte <= 57:
                digits += bytes([byte])
            else:
                break
        if digits:
            return min(int(digits), MAX_RESPONSE)
    return 64 + zlib.crc32(request) % 1024


def http_response(request: bytes, closing: bool, percent: int = 100) -> bytes:
    crc = zlib.crc32(request)
    size = response_size(request) * percent // 100
    pattern = b"%08x" % crc
    body = (pattern * (size // len(pattern) + 1))[:size]
    head = (
        b"HTTP/1.1 200 OK\r\n"
        b"Server: record_server\r\n"
        b"Content-Length: %d\r\n"
        b"X-Request-CRC: %08x\r\n"
        b"X-Request-Bytes: %d\r\n" % (size, crc, len(request))
    )
    if closing:
        head += b"Connection: close\r\n"
    return head + b"\r\n" + body


def split_http(buffer: bytearray):
    """Complete requests at the front of buffer, removed from it."""
    requests = []
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return requests
        head = bytes(buffer[: end + 4])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                try:
                    length = int(value.strip())
                except ValueError:
                    length = 0
        total = end + 4 + length
        if len(buffer) < total:
            return requests
        requests.append(bytes(buffer[:total]))
        del buffer[:total]


def expects_continue(buffer: bytearray) -> bool:
    """The request at the front has complete headers asking for "Expect: 100-continue"."""
    end = buffer.find(b"\r\n\r\n")
    return end >= 0 and b"\r\nexpect: 100-continue" in bytes(buffer[:end]).lower()


def split_lines(buffer: bytearray):
    lines = []
    while True:
        end = buffer.find(b"\n")
        if end < 0:
            return lines
        lines.append(bytes(buffer[: end + 1]))
        del buffer[: end + 1]


class Recorder:
    def __init__(self, args):
        self.args = args
        self.log_lock = threading.Lock()
        self.log = open(os.path.join(args.dir, "connections.log"), "a", buffering=1)
        self.order = 0
        self.stopping = False

    def note(self, text: str):
        with self.log_lock:
            self.log.write(text + "\n")

    def serve(self, conn: socket.socket, peer, order: int):
        ip, port = peer[0], peer[1]
        name = "conn-%05d-%s-%d.bin" % (order, ip, port)
        received = 0
        answered = 0
        continued = False  # "100 Continue" sent for the request at the front of the buffer
        reason = "eof"
        buffer = bytearray()
        self.note("open %d %s %d" % (order, ip, port))
        conn.settimeout(None)
        delay = self.args.delay_ms / 1000.0
        limit = self.args.close_after
        try:
            with open(os.path.join(self.args.dir, name), "wb", buffering=0) as record:
                if self.args.stall_ms:
                    # A server that is slow to read: its receive buffer fills, its window closes.
                    time.sleep(self.args.stall_ms / 1000.0)
                if self.args.greeting:
                    if self.args.greeting_delay_ms:
                        time.sleep(self.args.greeting_delay_ms / 1000.0)
                    # A client that talks before the greeting breaks greeting protocols (SMTP
                    # servers reject it: postfix's "improper pipelining"); so does this server.
                    try:
                        early = conn.recv(262144, socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        early = None
                    if early is not None:
                        record.write(early)
                        received += len(early)
                        conn.sendall(b"554 you spoke before my greeting\r\n")
                        reason = "spoke-before-greeting"
                        return
                    conn.sendall(GREETING)
                while True:
                    try:
                        data = conn.recv(262144)
                    except ConnectionResetError:
                        reason = "reset"
                        break
                    if not data:
                        reason = "eof"
                        break
                    record.write(data)
                    received += len(data)
                    buffer += data
                    close_now = False
                    if self.args.greeting:
                        for line in split_lines(buffer):
                            if delay:
                                time.sleep(delay)
                            answered += 1
                            if line.strip().upper() == b"QUIT":
                                conn.sendall(b"221 bye\r\n")
                                close_now = True
                                break
                            conn.sendall(b"250 OK %d %08x\r\n" % (len(line), zlib.crc32(line)))
                            if limit and answered >= limit:
                                close_now = True
                                break
                    else:
                        for request in split_http(buffer):
                            continued = False
                            if delay:
                                time.sleep(delay)
                            answered += 1
                            closing = bool(limit and answered >= limit)
                            conn.sendall(http_response(request, closing, self.args.size_percent))
                            if closing:
                                close_now = True
                                break
                        if (not close_now and not continued and not self.args.no_continue
                                and expects_continue(buffer)):
                            # The client waits for this before it sends the body (curl does
                            # so for any POST above 1 KB).
                            if delay:
                                time.sleep(delay)
                            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                            continued = True
                    if close_now:
                        reason = "server-close"
                        received += self.linger(conn, record)
                        break
        except (ConnectionResetError, BrokenPipeError):
            reason = "reset"
        except OSError as error:
            reason = "error-%s" % (error.errno,)
        finally:
            try:
                conn.close()
            except OSError:
                pass
            if self.stopping:
                reason = "stopped"
            self.note("close %d %s %d %d %d %s" % (order, ip, port, received, answered, reason))

    @staticmethod
    def linger(conn: socket.socket, record) -> int:
        """Closes our side, then reads (and records) until the peer's FIN or 2 s, as nginx's
        lingering close does: closing with unread data would send a RST instead of a FIN."""
        count = 0
        try:
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(2.0)
            while True:
                data = conn.recv(262144)
                if not data:
                    break
                record.write(data)
                count += len(data)
        except OSError:
            pass
        return count

    def run(self):
        family = socket.AF_INET6 if ":" in self.args.bind else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.args.bind, self.args.port))
        listener.listen(1024)
        print("record_server: listening on %s:%d (%s%s%s)" % (
            self.args.bind, self.args.port, "greeting" if self.args.greeting else "http",
            ", delay %d ms" % self.args.delay_ms if self.args.delay_ms else "",
            ", close after %d" % self.args.close_after if self.args.close_after else "",
        ), flush=True)

        def stop(signum, frame):
            self.stopping = True
            print("record_server: %d connections accepted; stopping" % self.order, flush=True)
            os._exit(0)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while True:
            conn, peer = listener.accept()
            self.order += 1
            thread = threading.Thread(
                target=self.serve, args=(conn, peer, self.order), daemon=True)
            thread.start()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--bind", default="0.0.0.0",
                        help="address to listen on; an IPv6 one (e.g. ::) listens on IPv6")
    parser.add_argument("--dir", required=True, help="where the recordings go")
    parser.add_argument("--delay-ms", type=int, default=0)
    parser.add_argument("--stall-ms", type=int, default=0,
                        help="wait this long after accepting before reading anything")
    parser.add_argument("--close-after", type=int, default=0)
    parser.add_argument("--greeting", action="store_true")
    parser.add_argument("--no-continue", action="store_true",
                        help="ignore Expect: 100-continue (a server that never sends one)")
    parser.add_argument("--size-percent", type=int, default=100,
                        help="HTTP bodies this percent of the usual size (a different server)")
    parser.add_argument("--greeting-delay-ms", type=int, default=0,
                        help="wait before the greeting; a client that sends first is refused")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    Recorder(args).run()


if __name__ == "__main__":
    sys.exit(main())
