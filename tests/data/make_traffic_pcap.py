#!/usr/bin/env python3
# Makes the real loopback traffic that tests/data/traffic-lo.pcap holds (see tests/data/README.md).
# Makes real mixed traffic on loopback: TCP (HTTP over v4 and v6), UDP request/response, UDP to a
# closed port (ICMP unreachable), for a capture.
import socket, threading, http.server, time, os
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self,*a): pass
def serve(fam, addr):
    class S(http.server.ThreadingHTTPServer): address_family = fam
    s = S((addr, 0), H); threading.Thread(target=s.serve_forever, daemon=True).start(); return s
os.chdir('/usr/share/doc')
s4 = serve(socket.AF_INET, '127.0.0.1'); s6 = serve(socket.AF_INET6, '::1')
import urllib.request
for i in range(6):
    for host, srv in (('127.0.0.1', s4), ('[::1]', s6)):
        fam = socket.AF_INET6 if host.startswith('[') else socket.AF_INET
        c = socket.socket(fam, socket.SOCK_STREAM)
        c.bind(('::1' if fam == socket.AF_INET6 else f'127.0.1.{10 + i}', 0))
        c.connect((host.strip('[]'), srv.server_address[1]))
        c.sendall(f'GET /{"" if i % 2 else "?x=" + "a" * (100 * i)} HTTP/1.0\r\nHost: x\r\n\r\n'.encode())
        while c.recv(65536): pass
        c.close()
# UDP echo
def udp_echo(fam, addr):
    u = socket.socket(fam, socket.SOCK_DGRAM); u.bind((addr, 0))
    def loop():
        while True:
            d, a = u.recvfrom(65535); u.sendto(d, a)
    threading.Thread(target=loop, daemon=True).start(); return u
for fam, addr in ((socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')):
    e = udp_echo(fam, addr)
    for k in range(4):
      c = socket.socket(fam, socket.SOCK_DGRAM); c.settimeout(2)
      if fam == socket.AF_INET: c.bind((f'127.0.2.{k + 1}', 0))
      for n in range(5 * k + 2):
        c.sendto(b'x' * (50 + 37 * n), e.getsockname()[:2]); c.recvfrom(65535)
    # closed port -> ICMP / ICMPv6 port unreachable
    d = socket.socket(fam, socket.SOCK_DGRAM); d.bind((addr, 0)); p = d.getsockname()[1]; d.close()
    for n in range(3): c.sendto(b'probe', (addr, p)); time.sleep(0.01)
time.sleep(0.2)
