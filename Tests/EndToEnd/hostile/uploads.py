#!/usr/bin/env python3
"""Large uploads for the buffer-budget test, inside the lab's namespaces.

    uploads.py serve PORT SECONDS
        An HTTP server that reads each request's whole body (Content-Length) and answers 200;
        one thread per connection. Exits after SECONDS.
    uploads.py sink PORT SECONDS
        Accepts connections and never reads from them (a target that stopped reading): the
        kernel's receive buffer fills and its window closes. Exits after SECONDS.
    uploads.py post SERVER PORT COUNT BYTES
        COUNT concurrent POSTs of BYTES each, one connection each; prints "posts ok=N of COUNT".

Bounded by its counts and times; talks only to the address it is given.
"""
import socket, sys, threading, time

def serve(args):
    port, seconds = int(args[0]), float(args[1])
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(1024)

    def handle(conn):
        with conn:
            buffer = b""
            while b"\r\n\r\n" not in buffer:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buffer += chunk
            head, _, body = buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            left = length - len(body)
            while left > 0:
                chunk = conn.recv(min(left, 1 << 20))
                if not chunk:
                    return
                left -= len(chunk)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    listener.settimeout(0.5)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handle, args=(conn,), daemon=True).start()

def sink(args):
    port, seconds = int(args[0]), float(args[1])
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", port))
    listener.listen(1024)
    listener.settimeout(0.5)
    held = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn, _ = listener.accept()
            held.append(conn)
        except socket.timeout:
            pass

def post(args):
    server, port, count, size = args[0], int(args[1]), int(args[2]), int(args[3])
    body = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    ok = []

    def one(index):
        try:
            with socket.create_connection((server, port), timeout=60) as conn:
                conn.sendall(b"POST /upload/%d HTTP/1.1\r\nHost: online.lab\r\nContent-Length: %d\r\n\r\n"
                             % (index, size) + body)
                answer = b""
                while not answer.endswith(b"ok"):
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
                if answer.startswith(b"HTTP/1.1 200"):
                    ok.append(index)
        except OSError as error:
            print("post %d: %s" % (index, error), file=sys.stderr)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("posts ok=%d of %d" % (len(ok), count))

if __name__ == "__main__":
    modes = {"serve": serve, "sink": sink, "post": post}
    if len(sys.argv) < 2 or sys.argv[1] not in modes:
        sys.exit(__doc__)
    modes[sys.argv[1]](sys.argv[2:])
