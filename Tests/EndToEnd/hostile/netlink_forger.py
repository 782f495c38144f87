#!/usr/bin/env python3
"""Forged NFQUEUE packet messages, sent straight to intercept's netlink socket.

    netlink_forger.py PORTID QUEUE SRC DST [--id N]

A process with CAP_NET_ADMIN can send a unicast netlink message to any port id, so intercept
must act only on what the kernel sends. Sends, from a netlink socket of its own, to PORTID:
  accept-bait  a well-formed packet message for QUEUE, id N, of a TCP packet SRC:80 -> DST
               (pass an allow-listed DST: believed, it would get an ACCEPT)
  drop-bait    the same with id N + 1 and DST's last byte changed
  cut          the accept-bait message with a length longer than what is sent
  garbage      64 random bytes
  short        3 bytes
and prints one line: "forged sent=5". No verdict for ids N, N + 1 may come back: the kernel
would answer it with ENOENT (intercept's netlink_errors), as no such packet is queued.
Sends only to the given port id in its own network namespace.
"""
import argparse, os, socket, struct

NETLINK_NETFILTER = 12
PACKET_TYPE = (3 << 8) | 0  # NFNL_SUBSYS_QUEUE, NFQNL_MSG_PACKET
NFQA_PACKET_HDR, NFQA_PAYLOAD = 1, 10

def attribute(kind, data):
    raw = struct.pack("=HH", 4 + len(data), kind) + data
    return raw + b"\0" * (-len(raw) % 4)

def tcp_packet(src, dst):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0x4000, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    tcp = struct.pack("!HHIIBBHHH", 80, 40000, 1, 1, 5 << 4, 0x10, 1000, 0, 0)
    return ip + tcp

def packet_message(queue, packet_id, payload, length=None):
    body = struct.pack("!BBH", socket.AF_INET, 0, queue)
    body += attribute(NFQA_PACKET_HDR, struct.pack("!IHB", packet_id, 0x0800, 3))
    body += attribute(NFQA_PAYLOAD, payload)
    return struct.pack("=IHHII", length or 16 + len(body), PACKET_TYPE, 0, 0, 0) + body

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("portid", type=int)
    parser.add_argument("queue", type=int)
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument("--id", type=int, default=0x7FFFFFF0)
    args = parser.parse_args()
    other = args.dst.rsplit(".", 1)[0] + "." + str((int(args.dst.rsplit(".", 1)[1]) + 1) % 256)
    bait = packet_message(args.queue, args.id, tcp_packet(args.src, args.dst))
    messages = [
        bait,
        packet_message(args.queue, args.id + 1, tcp_packet(args.src, other)),
        packet_message(args.queue, args.id, tcp_packet(args.src, args.dst), length=len(bait) + 64),
        os.urandom(64),
        b"\x01\x02\x03",
    ]
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.bind((0, 0))
    for message in messages:
        sock.sendto(message, (args.portid, 0))
    print("forged sent=%d" % len(messages))

if __name__ == "__main__":
    main()
