#!/usr/bin/env python3
"""Receive UDP datagrams on loopback and write them to a pcap file.

A test's stand-in for a capture tool when it owns the receiving end: bound
before the exporter starts, so nothing sent can be missed (dumpcap's "live"
moment is not observable without probes), and no root needed. Every datagram
is written as one packet of link type RAW (101): an IPv4 header from the
sender's address to ours, a UDP header, the payload. Checksums are 0 (tshark
does not validate them by default; ringflow-gen --replay reads the payload).

Usage: udp_catch_pcap.py --out FILE --port-file FILE [--timeout S]
  Binds 127.0.0.1 on a free port and writes its number to --port-file (the
  ready signal). Stops at a datagram whose payload is exactly b"SENTINEL"
  (not written) or after --timeout seconds (exit 2: the test fails on it).
  Prints the number of datagrams written.
"""
import argparse
import socket
import struct
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--timeout", type=float, default=60.0)
    a = ap.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    deadline = time.monotonic() + a.timeout
    n = 0
    with open(a.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as pf:
            pf.write(f"{port}\n")
        import os
        os.rename(tmp, a.port_file)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                print(f"udp_catch_pcap: timed out after {a.timeout} s, {n} datagrams", file=sys.stderr)
                sys.exit(2)
            s.settimeout(left)
            try:
                data, (host, sport) = s.recvfrom(65535)
            except socket.timeout:
                continue
            if data == b"SENTINEL":
                break
            now = time.time()
            udp = struct.pack("!HHHH", sport, port, 8 + len(data), 0)
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp) + len(data), n & 0xFFFF, 0, 64, 17, 0,
                             socket.inet_aton(host), socket.inet_aton("127.0.0.1"))
            pkt = ip + udp + data
            f.write(struct.pack("<IIII", int(now), int((now % 1) * 1e6), len(pkt), len(pkt)))
            f.write(pkt)
            n += 1
    print(n)


if __name__ == "__main__":
    main()
