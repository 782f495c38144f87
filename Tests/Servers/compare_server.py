#!/usr/bin/env python3
"""An HTTP/1.1 server that differs on purpose between its two roles, and its client.

server --role online|target --port P: keep-alive, pipelining-safe (requests are answered in
order from one buffer). /same answers alike; /status answers 200 online, 500 on target (same
length); /length answers a longer body on target; /slow answers alike, 50 ms later on target; /stamp answers alike but for an
X-Request-Stamp header line whose value (and length) differs every time; /big answers 16 KiB
alike (cut into segments by each side's path MTU).

client --host H --port P --path PATH --count N [--connections C] [--pipeline D]: N requests of
PATH on each of C keep-alive connections, D at a time in one write (1: one after the other);
prints the number of answers read. --paths A,B,C instead of --path: the paths in turn, D at a
time in one write.
"""
import argparse
import socket
import threading
import time


def answer(role, path):
    status, body, delay = "200 OK", b"hello, same body\n", 0.0
    if path.startswith("/status") and role == "target":
        status = "500 Oops"  # same length as "200 OK" + 2: the length differs too, first line first
    if path.startswith("/length"):
        body = b"hello, same body\n" if role == "online" else b"hello, a longer body\n"
    if path.startswith("/big"):
        body = bytes((i * 7 + i // 251) & 0xFF for i in range(16384))
    if path.startswith("/slow") and role == "target":
        delay = 0.05
    stamp = ""
    if path.startswith("/stamp"):
        stamp = "X-Request-Stamp: %s-%d\r\n" % (role, time.time_ns() % (10 ** (3 + time.time_ns() % 7)))
    head = "HTTP/1.1 %s\r\n%sContent-Length: %d\r\nContent-Type: text/plain\r\n\r\n" % (
        status, stamp, len(body))
    return head.encode() + body, delay


def serve_connection(role, conn):
    buffer = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in buffer:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
            request, buffer = buffer.split(b"\r\n\r\n", 1)
            path = request.split(b"\r\n", 1)[0].split(b" ")[1].decode()
            reply, delay = answer(role, path)
            if delay:
                time.sleep(delay)
            conn.sendall(reply)


def server(args):
    family = socket.AF_INET6 if ":" in args.bind else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.bind, args.port))
    listener.listen(128)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve_connection, args=(args.role, conn), daemon=True).start()


def read_answer(sock, buffer):
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        if not data:
            raise EOFError
        buffer += data
    head, rest = buffer.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        data = sock.recv(65536)
        if not data:
            raise EOFError
        rest += data
    return rest[length:]


def client(args):
    answered = 0
    for _ in range(args.connections):
        sock = socket.create_connection((args.host, args.port), timeout=5)
        buffer = b""
        sent = 0
        while sent < args.count:
            batch = min(args.pipeline, args.count - sent)
            paths = args.paths.split(",") if args.paths else [args.path]
            sock.sendall(b"".join(
                b"GET %s HTTP/1.1\r\nHost: lab\r\n\r\n" % paths[(sent + i) % len(paths)].encode()
                for i in range(batch)))
            sent += batch
            for _ in range(batch):
                buffer = read_answer(sock, buffer)
                answered += 1
            time.sleep(args.gap)
        time.sleep(0.2)
        sock.close()
    print(answered)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("server")
    s.add_argument("--role", choices=["online", "target"], required=True)
    s.add_argument("--port", type=int, default=80)
    s.add_argument("--bind", default="0.0.0.0", help="an IPv6 address (e.g. ::) listens on IPv6")
    c = sub.add_parser("client")
    c.add_argument("--host", required=True)
    c.add_argument("--port", type=int, default=80)
    c.add_argument("--path")
    c.add_argument("--paths")
    c.add_argument("--count", type=int, default=10)
    c.add_argument("--connections", type=int, default=1)
    c.add_argument("--pipeline", type=int, default=1)
    c.add_argument("--gap", type=float, default=0.02)
    args = parser.parse_args()
    server(args) if args.mode == "server" else client(args)


if __name__ == "__main__":
    main()
