"""The rig's floor: what answering perfdhcp costs a Python process that does nothing else.

    .venv/bin/python bench/floor.py [--rates 4000,8000,12000] [--seconds 8]

Runs, on the bench's rig (bench/rig.py: namespaces, veth, perfdhcp as a relay), a responder
with no store, no options and no checks: it turns each DISCOVER into an OFFER and each REQUEST
into an ACK by patching the request's bytes (yiaddr from chaddr, options 53, 54, 51, 1). Two
variants: a blocking recvfrom/sendto loop (`plain`) and a Twisted DatagramProtocol on the
epoll reactor (`twisted`), the reactor apidhcpd runs on. For each fixed rate it prints the
DORA/s answered, drops, and the responder's CPU per DORA. apidhcpd can only be slower than
`twisted`; the gap between them is the packet path's own work (docs/performance.md).
"""

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import perf  # noqa: E402
import rig as rigmod  # noqa: E402

RESPONDER = r'''
import socket, sys
SERVER = socket.inet_aton("192.0.2.1")
TAIL = bytes([54, 4]) + SERVER + bytes([51, 4, 0, 0, 14, 16, 1, 4, 255, 255, 0, 0, 255])

def answer(request):
    kind = 2 if b"\x35\x01\x01" in request[240:] else 5  # DISCOVER -> OFFER, else ACK
    reply = bytearray(request[:240])
    reply[0] = 2
    reply[16:20] = bytes([198, 51]) + request[32:34]  # 198.51.x.y from chaddr's last bytes
    return bytes(reply) + bytes([53, 1, kind]) + TAIL

if sys.argv[1] == "plain":
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.bind(("192.0.2.1", 67))
    while True:
        data, source = sock.recvfrom(2048)
        sock.sendto(answer(data), (source[0], 67))
else:
    from twisted.internet import protocol, reactor

    class Responder(protocol.DatagramProtocol):
        def datagramReceived(self, data, source):
            self.transport.socket.sendto(answer(data), (source[0], 67))

    reactor.listenUDP(67, Responder(), interface="192.0.2.1")
    reactor.run()
'''


def measure(rig, workdir, variant, rates, seconds, clients):
    script = os.path.join(workdir, "responder.py")
    with open(script, "w") as f:
        f.write(RESPONDER)
    proc = rig.spawn([sys.executable, script, variant], ns=rig.srv,
                     stdout=os.path.join(workdir, variant + ".out"))
    try:
        time.sleep(1.5)  # bound and listening
        for rate in rates:
            t = perf.trial(rig, os.path.join(workdir, "perfdhcp.txt"), rate, seconds, clients,
                           {"server": proc.pid})
            print("%-8s %6d/s -> %8.1f DORA/s  drops %5.2f%%  CPU responder %3.0f%% "
                  "perfdhcp %3.0f%%  %4s us per DORA" % (
                      variant, rate, t["dora_per_s"], t["drops_pct"], t["cpu_pct"]["server"],
                      t["cpu_pct"]["perfdhcp"], t["cpu_us_per_dora"]), flush=True)
    finally:
        rig.stop(proc)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="4000,8000,12000")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--clients", type=int, default=50000)
    args = parser.parse_args(argv)
    rates = [int(r) for r in args.rates.split(",")]
    rigmod.exit_on_signals()
    rigmod.remove_stale_namespaces()
    workdir = tempfile.mkdtemp(prefix="apidhcpd-floor.")
    rig = rigmod.Rig(workdir)
    try:
        rig.build()
        for variant in ("plain", "twisted"):
            measure(rig, workdir, variant, rates, args.seconds, args.clients)
    finally:
        rig.close()


if __name__ == "__main__":
    main()
