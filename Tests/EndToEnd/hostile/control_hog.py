#!/usr/bin/env python3
"""Control-port peers that hog intercept's resources, for the end-to-end tests (protocol v2).

    control_hog.py slots HOST PORT --count N --seconds S
        N connections that never complete the handshake (one byte of a hello a second);
        prints "result: slots open=N dropped=D first_drop=SECS".
    holders HOST PORT --count N --seconds S
        N connections that complete the handshake and send heartbeats until S (valid peers, as
        far as intercept can tell without a secret); prints "result: holders welcomed=W".
    register HOST PORT --count N --connections C --seconds S
        C connections say hello and register N distinct keys in all, as fast as intercept
        reads; prints "result: register sent=N refused=R connections_closed=K secs=S".
    squat HOST PORT --client IP --target IP --target-port P --ports A-B --seconds S
        says hello, registers the keys (client IP, port A..B, target, P), then holds them
        with heartbeats until S; prints "result: squat registered=N refused=R".
    secret HOST PORT --secret TEXT --seconds S
        hello, then the proof computed with TEXT; prints
        "result: secret challenge=yes|no welcome=yes|no goodbye=N|none".
Bounded by --seconds; talks only to the address it is given.
"""
import argparse, hashlib, hmac, socket, struct, sys, time

VERSION = 4

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

def ip(text):
    return socket.inet_aton(text)

def parse(buffer):
    """Whole frames in buffer: ([(kind, body)], rest)."""
    frames, i = [], 0
    while i + 8 <= len(buffer):
        length = struct.unpack("!H", buffer[i + 4:i + 6])[0]
        if i + 8 + length > len(buffer):
            break
        frames.append((buffer[i + 2], buffer[i + 8:i + 8 + length]))
        i += 8 + length
    return frames, buffer[i:]

def connect(host, port):
    sock = socket.create_connection((host, port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock

def handshake(sock, deadline, secret=None):
    """hello (and proof); returns (welcomed, challenged, goodbye)."""
    sock.sendall(frame(1, struct.pack("!H", VERSION)))
    buffer, challenged = b"", False
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            break
        except OSError:
            return False, challenged, None
        if not chunk:
            return False, challenged, None
        frames, buffer = parse(buffer + chunk)
        for kind, body in frames:
            if kind == 2:
                return True, challenged, None
            if kind == 3:
                return False, challenged, struct.unpack("!H", body)[0]
            if kind == 8:
                challenged = True
                key = (secret or "").encode()
                proof = hmac.new(key, b"tcpcopy control v2 proof" + body, hashlib.sha256).digest()
                sock.sendall(frame(9, proof))
    return False, challenged, None

def slots(args, deadline):
    socks, opened = [], time.monotonic()
    for _ in range(args.count):
        socks.append(connect(args.host, args.port))
    for s in socks:
        s.setblocking(False)
    hello = frame(1, struct.pack("!H", VERSION))
    alive = {s: 0 for s in socks}
    first_drop = None
    next_byte = time.monotonic()
    while alive and time.monotonic() < deadline:
        drip = time.monotonic() >= next_byte
        if drip:
            next_byte += 1
        for s in list(alive):
            try:
                if s.recv(4096) == b"":
                    raise ConnectionResetError
            except BlockingIOError:
                pass
            except OSError:
                del alive[s]
                first_drop = first_drop or time.monotonic() - opened
                continue
            if drip and alive[s] < len(hello) - 1:  # never the last byte: the hello never completes
                try:
                    s.send(hello[alive[s]:alive[s] + 1])
                    alive[s] += 1
                except OSError:
                    del alive[s]
                    first_drop = first_drop or time.monotonic() - opened
        time.sleep(0.1)
    print("result: slots open=%d dropped=%d first_drop=%s" % (
        args.count, args.count - len(alive), "%.1f" % first_drop if first_drop else "none"))

def holders(args, deadline):
    socks = []
    for _ in range(args.count):
        s = connect(args.host, args.port)
        welcomed, _, _ = handshake(s, deadline)
        if welcomed:
            socks.append(s)
        else:
            s.close()
    print("result: holders welcomed=%d" % len(socks), flush=True)
    for s in socks:
        s.setblocking(False)
    while time.monotonic() < deadline:
        for s in socks:
            try:
                s.send(frame(7, b""))
                s.recv(4096)
            except (BlockingIOError, OSError):
                pass
        time.sleep(1)

def register(args, deadline):
    start = time.monotonic()
    socks = []
    for _ in range(args.connections):
        s = connect(args.host, args.port)
        welcomed, _, goodbye = handshake(s, deadline)
        if not welcomed:
            sys.exit("not welcomed (goodbye=%s)" % goodbye)
        s.setblocking(False)
        socks.append([s, b"", 0])
    per = args.count // args.connections
    sent = refused = closed = 0
    batch = 2048
    base = struct.unpack("!I", ip("10.200.0.0"))[0]
    target = ip(args.target)

    def read_answers(entry):
        nonlocal refused
        try:
            data = entry[0].recv(1 << 16)
        except (BlockingIOError, OSError):
            return
        frames, entry[1] = parse(entry[1] + data)
        refused += sum(1 for kind, _ in frames if kind == 10)

    # Round-robin over the connections, a batch each, so that none falls silent meanwhile.
    for n in range(0, per, batch):
        if time.monotonic() >= deadline:
            break
        for index, entry in enumerate(socks):
            if entry[2] < 0:
                continue
            s = entry[0]
            chunk = b"".join(
                frame(4, struct.pack("!IH", base + (index * per + k) // 60000, 1024 + (index * per + k) % 60000) + target + struct.pack("!H", 80))
                for k in range(n, min(per, n + batch)))
            view = memoryview(chunk)
            while view and time.monotonic() < deadline:
                try:
                    w = s.send(view)
                    view = view[w:]
                except BlockingIOError:
                    time.sleep(0.001)
                except OSError:
                    closed += 1
                    entry[2] = -1
                    break
                read_answers(entry)
            if entry[2] >= 0:
                sent += len(chunk) // 20
    print("result: register sent=%d refused=%d connections_closed=%d secs=%.1f" % (
        sent, refused, closed, time.monotonic() - start), flush=True)
    # Hold the connections (heartbeats, reading the answers) while intercept catches up: a
    # close would discard what the kernel still buffers for it.
    while time.monotonic() < deadline:
        for entry in socks:
            if entry[2] < 0:
                continue
            try:
                entry[0].send(frame(7, b""))
            except (BlockingIOError, OSError):
                pass
            read_answers(entry)
        time.sleep(0.2)

def squat(args, deadline):
    s = connect(args.host, args.port)
    welcomed, _, goodbye = handshake(s, deadline)
    if not welcomed:
        sys.exit("not welcomed (goodbye=%s)" % goodbye)
    low, high = (int(p) for p in args.ports.split("-"))
    keys = b"".join(
        frame(4, ip(args.client) + struct.pack("!H", p) + ip(args.target) + struct.pack("!H", args.target_port))
        for p in range(low, high + 1))
    s.sendall(keys)
    print("result: squat registered=%d" % (high - low + 1), flush=True)
    s.settimeout(0.5)
    while time.monotonic() < deadline:
        s.sendall(frame(7, b""))
        try:
            if s.recv(4096) == b"":
                break
        except socket.timeout:
            pass
        time.sleep(0.5)

def secret(args, deadline):
    s = connect(args.host, args.port)
    welcomed, challenged, goodbye = handshake(s, deadline, args.secret)
    print("result: secret challenge=%s welcome=%s goodbye=%s" % (
        "yes" if challenged else "no", "yes" if welcomed else "no", goodbye if goodbye is not None else "none"))

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["slots", "holders", "register", "squat", "secret"])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--count", type=int, default=64)
    ap.add_argument("--connections", type=int, default=1)
    ap.add_argument("--client")
    ap.add_argument("--target", default="10.77.2.2")
    ap.add_argument("--target-port", type=int, default=80)
    ap.add_argument("--ports")
    ap.add_argument("--secret")
    ap.add_argument("--seconds", type=float, default=20)
    args = ap.parse_args()
    deadline = time.monotonic() + args.seconds
    {"slots": slots, "holders": holders, "register": register, "squat": squat, "secret": secret}[args.mode](
        args, deadline)

if __name__ == "__main__":
    main()
