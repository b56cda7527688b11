"""Run `twistd -n apidhcpd` inside a test namespace, against a test Redis."""

import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TWISTD = os.path.join(os.path.dirname(sys.executable), "twistd")

# the inventory most integration tests start from (192.0.2.0/24 inside the namespaces)
INVENTORY = [
    ("group:default", {"gateway": "192.0.2.1", "prefix": "24", "dns": "192.0.2.53",
                       "domain": "example.test.", "lease-time": "2h"}),
    ("group:pool", {"gateway": "192.0.2.1", "prefix": "24", "dns": "192.0.2.53,192.0.2.54",
                    "domain": "pool.example.test", "lease-time": "30m",
                    "range": "192.0.2.100-192.0.2.250"}),
]


def seed(redis, entries=INVENTORY):
    for key, fields in entries:
        redis.cli("HSET", key, *[x for kv in fields.items() for x in kv])


class ServerProcess:
    """apidhcpd in `host`'s namespace; killed by the Lan's teardown."""

    def __init__(self, host, redis_url, *args):
        self.host = host
        self.log_path = os.path.join(host.lan.mkdtemp("apidhcpd"), "apidhcpd.log")
        argv = [TWISTD, "-n", "--pidfile=", "-l", self.log_path, "apidhcpd",
                "--interface", host.iface, "--redis", redis_url, "--heartbeat-port", "0",
                "--reclaim-interval", "1s"] + list(args)
        env = dict(os.environ, PYTHONPATH=REPO)
        self.proc = host.spawn(argv, env=env)
        self.wait_for("serving DHCP")

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_for(self, text, timeout=20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if self.proc.poll() is not None:
                raise AssertionError("apidhcpd exited (%s):\n%s" % (self.proc.returncode,
                                                                      self.log()))
            time.sleep(0.05)
        raise AssertionError("no %r in the apidhcpd log:\n%s" % (text, self.log()))

    def alive(self):
        return self.proc.poll() is None
