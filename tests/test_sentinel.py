"""--redis redis+sentinel://: a real master, replica and three sentinels on loopback; the store
follows a promotion without a restart and keeps the leases written before it."""

import os
import shutil
import subprocess
import tempfile
import time

from twisted.internet import defer
from twisted.trial import unittest

from apidhcpd.inventory import allocation
from apidhcpd.store.contract import AddressSource, StoreUnavailable
from tests.redisserver import free_port
from tests.stores import connected_store, sleep

SOURCE = AddressSource("lan", allocation.parse_ranges("192.0.2.10-192.0.2.20"))
NOW = 1_000_000


class Cluster:
    """redis-server master and replica plus three sentinels, on free loopback ports."""

    def __init__(self, testcase):
        if not shutil.which("redis-server"):
            raise unittest.SkipTest("redis-server is not installed")
        self.dir = tempfile.mkdtemp(prefix="adh-sentinel-")
        testcase.addCleanup(shutil.rmtree, self.dir, True)
        self.procs = {}
        testcase.addCleanup(self.stop_all)
        self.master, self.replica = free_port(), free_port()
        self.start("master", ["--port", str(self.master)])
        self.start("replica", ["--port", str(self.replica),
                               "--replicaof", "127.0.0.1", str(self.master)])
        self.sentinels = [free_port() for _ in range(3)]
        for n, port in enumerate(self.sentinels):
            conf = os.path.join(self.dir, "sentinel-%d.conf" % n)
            with open(conf, "w") as f:
                f.write("port %d\nbind 127.0.0.1\nsentinel monitor dhcp 127.0.0.1 %d 2\n"
                        "sentinel down-after-milliseconds dhcp 1000\n"
                        "sentinel failover-timeout dhcp 5000\n" % (port, self.master))
            self.start("sentinel-%d" % n, [conf, "--sentinel"], conf_first=True)

    def start(self, name, args, conf_first=False):
        common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                  "--dir", self.dir]
        argv = ["redis-server"] + (args + common if conf_first else common + args)
        self.procs[name] = subprocess.Popen(argv, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)

    def stop(self, name):
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait()

    def stop_all(self):
        for name in list(self.procs):
            self.stop(name)

    def cli(self, port, *args):
        return subprocess.run(["redis-cli", "-p", str(port)] + list(args), capture_output=True,
                              text=True, timeout=10).stdout.strip()

    def wait(self, condition, seconds=20):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if condition():
                return True
            time.sleep(0.1)
        return False

    def ready(self, sentinel):
        words = self.cli(sentinel, "SENTINEL", "master", "dhcp").split("\n")
        state = dict(zip(words[::2], words[1::2]))
        return state.get("num-other-sentinels") == "2" and state.get("num-slaves") == "1"

    @property
    def url(self):
        return "redis+sentinel://" + ",".join("127.0.0.1:%d" % p for p in self.sentinels) + \
            "/dhcp/0"


class SentinelTests(unittest.TestCase):
    timeout = 60

    @defer.inlineCallbacks
    def test_the_store_follows_a_promotion_and_keeps_its_leases(self):
        cluster = Cluster(self)
        self.assertTrue(cluster.wait(lambda: "master_link_status:up" in
                                     cluster.cli(cluster.replica, "INFO", "replication")))
        # a failover needs a majority of sentinels that know each other and the replica
        self.assertTrue(cluster.wait(lambda: all(cluster.ready(port)
                                                 for port in cluster.sentinels), 30))
        store = yield connected_store(self, cluster, url=cluster.url, timeout=0.5)
        heard, states = [], []  # the inventory cache's change stream, on the master too
        store.watch(heard.append, states.append)
        self.assertTrue((yield wait_for(lambda: states == [True])), states)
        yield store.put("mac:02:00:00:00:0a:09", {"ip": "192.0.2.9"})
        self.assertTrue((yield wait_for(lambda: heard == ["mac:02:00:00:00:0a:09"])), heard)
        lease = yield store.commit("02:00:00:00:0a:01", "192.0.2.10", SOURCE, 3600, NOW)
        self.assertEqual(lease.ip, "192.0.2.10")
        self.assertTrue(cluster.wait(lambda: cluster.cli(
            cluster.replica, "HGET", "lease:192.0.2.10", "mac") == "02:00:00:00:0a:01"))

        cluster.stop("master")
        started = time.monotonic()
        committed = None
        while committed is None and time.monotonic() - started < 30:
            try:
                committed = yield store.commit("02:00:00:00:0a:02", "192.0.2.11", SOURCE, 3600,
                                               NOW)
            except StoreUnavailable:
                yield sleep(0.2)
        self.assertIsNotNone(committed, "no write reached the promoted replica in 30 s")
        print("\nwrites resumed %.1fs after the master died" % (time.monotonic() - started))
        self.assertIn("role:master", cluster.cli(cluster.replica, "INFO", "replication"))
        self.assertEqual(cluster.cli(cluster.replica, "HGET", "lease:192.0.2.11", "mac"),
                         "02:00:00:00:0a:02")
        earlier = yield store.lease_of("02:00:00:00:0a:01", NOW)
        self.assertEqual(earlier.ip, "192.0.2.10")
        # the subscription lost the old master and follows the new one
        self.assertTrue((yield wait_for(lambda: states[-2:] == [False, True], 15)), states)
        yield store.put("mac:02:00:00:00:0a:08", {"ip": "192.0.2.8"})
        self.assertTrue((yield wait_for(lambda: heard[-1:] == ["mac:02:00:00:00:0a:08"])),
                        heard)


@defer.inlineCallbacks
def wait_for(condition, seconds=10.0):
    """True once condition() holds, False after `seconds` (polled every 50 ms)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        yield sleep(0.05)
    return condition()
