"""A Redis that wants a password, an ACL user, or TLS: the URL forms of --redis that reach it,
and a clear refusal without them. Each server is a private redis-server (tests/redisserver.py)
started with requirepass, an ACL user or a tls-port; certificates are made with openssl."""

import ipaddress
import os
import shutil
import subprocess
import tempfile

from twisted.internet import defer, reactor
from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.trial import unittest

from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.profile import Link
from apidhcpd.dhcp4.server import DHCPServer
from apidhcpd.dhcp4.transaction import Policy
from apidhcpd.store.contract import StoreUnavailable
from apidhcpd.store.redis import RedisStore, RedisURL
from tests.redisserver import RedisServer, free_port
from tests.stores import sleep

ACL = "~* &* +@all -@dangerous +info"  # docs/operations.md
LINK = Link("192.0.2.1", ipaddress.IPv4Network("192.0.2.0/24"))
MAC = "02:00:00:00:0a:01"


def start(testcase, **kwargs):
    if not shutil.which("redis-server"):
        raise unittest.SkipTest("redis-server not installed")
    server = RedisServer(**kwargs).start()
    testcase.addCleanup(server.stop)
    server.cli("HSET", "group:default", "gateway", "192.0.2.1", "prefix", "24")
    server.cli("HSET", "mac:" + MAC, "ip", "192.0.2.10", "hostname", "printer")
    return server


class Logged:
    """Errors logged while it is in use."""

    def __init__(self, testcase):
        self.events = []
        globalLogPublisher.addObserver(self.events.append)
        testcase.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def errors(self):
        return [formatEvent(e) for e in self.events
                if e.get("log_level") == LogLevel.error and "log_format" in e]


@defer.inlineCallbacks
def connect(testcase, url, wait=5.0):
    """A RedisStore on `url`, connected if it can be within `wait` seconds."""
    store = RedisStore(RedisURL.parse(url), reactor, timeout=1.0)
    store.connect()
    testcase.addCleanup(store.disconnect)
    for _ in range(int(wait / 0.02)):
        if store.connected:
            break
        yield sleep(0.02)
    return store


@defer.inlineCallbacks
def heard_changes(store):
    """Subscribe to the inventory's changes (the subscription logs in on a connection of its
    own), then write a host through put.lua: the keys the subscription heard."""
    watched = []
    store.watch(watched.append, lambda up: None)
    for _ in range(100):
        if store._watcher.size:
            break
        yield sleep(0.02)
    yield store.put("mac:" + MAC, {"hostname": "renamed"}, "merge")
    for _ in range(100):
        if watched:
            break
        yield sleep(0.02)
    return watched


@defer.inlineCallbacks
def offer(store):
    """A DISCOVER for MAC answered by a DHCPServer on `store`: the OFFER's address."""
    server = DHCPServer(store, Policy(server_id="192.0.2.1"), reactor, log_exchanges=False)
    msg = Message(op=1, xid=7, chaddr=bytes.fromhex(MAC.replace(":", "")))
    msg.set(53, opt.DISCOVER)
    reply = yield server.handle(msg, LINK)
    return reply.yiaddr if reply is not None else None


class PasswordTests(unittest.TestCase):
    timeout = 30
    PASSWORD = "s3cret/pw@x"  # %-encoded in the URL

    def setUp(self):
        self.redis = start(self, config=["requirepass " + self.PASSWORD],
                           cli_auth=["-a", self.PASSWORD, "--no-auth-warning"])
        self.logged = Logged(self)

    @defer.inlineCallbacks
    def test_the_password_in_the_url_reaches_it(self):
        for url in ("redis://:s3cret%2Fpw%40x@127.0.0.1:" + str(self.redis.port) + "/0",
                    "unix://:s3cret%2Fpw%40x@" + self.redis.unix_path + "?db=0"):
            store = yield connect(self, url)
            self.assertTrue(store.connected, url)
            self.assertEqual((yield offer(store)), "192.0.2.10")
        self.assertEqual(self.logged.errors(), [])

    @defer.inlineCallbacks
    def test_without_it_or_with_a_wrong_one_the_refusal_is_logged(self):
        for url, reason in (("redis://127.0.0.1:%d/0", "NOAUTH"),
                            ("redis://:wrong@127.0.0.1:%d/0", "WRONGPASS")):
            store = yield connect(self, url % self.redis.port, wait=1.0)
            self.assertFalse(store.connected)
            yield self.assertFailure(store.ping(), StoreUnavailable)
            errors = [e for e in self.logged.errors() if reason in e]
            self.assertEqual(len(errors), 1, self.logged.errors())
            self.assertIn("refused apidhcpd", errors[0])
            self.assertIn("check the user and password in --redis", errors[0])
            self.assertNotIn("wrong@", errors[0])


class ACLUserTests(unittest.TestCase):
    """Redis 6 ACL users: AUTH user password (the default user switched off)."""

    timeout = 30

    def setUp(self):
        self.redis = start(self, config=["user dhcp on >dhcp-pw " + ACL,
                                         "user default off"],
                           cli_auth=["--user", "dhcp", "--pass", "dhcp-pw",
                                     "--no-auth-warning"])
        self.logged = Logged(self)

    @defer.inlineCallbacks
    def test_user_and_password(self):
        store = yield connect(self, "redis://dhcp:dhcp-pw@127.0.0.1:%d/0" % self.redis.port)
        self.assertTrue(store.connected)
        self.assertEqual((yield offer(store)), "192.0.2.10")
        self.assertEqual((yield heard_changes(store)), ["mac:" + MAC])

    @defer.inlineCallbacks
    def test_the_documented_acl_allows_every_call_the_server_makes(self):
        """docs/operations.md's ACL rule, through the store calls of the server, the API and
        the timers."""
        store = yield connect(self, "redis://dhcp:dhcp-pw@127.0.0.1:%d/0" % self.redis.port)
        now = int(reactor.seconds())
        yield store.put("subnet:198.51.100.0/24", {"range": "198.51.100.10-198.51.100.20"},
                        "replace")
        for call in (lambda: store.refresh_reserved(), lambda: store.reclaim(now),
                     lambda: store.scan("mac:", "0", 100), lambda: store.get_many(["mac:" + MAC]),
                     lambda: store.size(), lambda: store.subnet_of("198.51.100.7"),
                     lambda: store.holders("192.0.2.10"), lambda: store.group_users("lab", 4),
                     lambda: store.lease_at("192.0.2.10"), lambda: store.lease_count(),
                     lambda: store.hash_scan("pool", "0", 10), lambda: store.hash_size("pool"),
                     lambda: store.pool_tally([("x", ((1, 2),))], now),
                     lambda: store.seed_pool_tally(now), lambda: store.leases(0, 10),
                     lambda: store.hashes("group:"), lambda: store.end_lease("192.0.2.10"),
                     lambda: store.lease_of(MAC, now), lambda: store.ping()):
            yield call()
        self.assertEqual((yield offer(store)), "192.0.2.10")

    @defer.inlineCallbacks
    def test_the_password_alone_is_not_enough(self):
        store = yield connect(self, "redis://:dhcp-pw@127.0.0.1:%d/0" % self.redis.port,
                              wait=1.0)
        self.assertFalse(store.connected)
        self.assertTrue(any("WRONGPASS" in e for e in self.logged.errors()),
                        self.logged.errors())


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, timeout=60,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certificates(where):
    """ca.pem signs server.pem (for IP 127.0.0.1) and client.pem; other-ca.pem signs nothing."""
    for ca in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                "/CN=apidhcpd test " + ca, "-keyout", ca + "-key.pem", "-out", ca + ".pem",
                cwd=where)
    for name, extension in (("server", "subjectAltName=IP:127.0.0.1"),
                            ("client", "extendedKeyUsage=clientAuth")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name, "-keyout",
                name + "-key.pem", "-out", name + ".csr", cwd=where)
        with open(os.path.join(where, name + ".ext"), "w") as f:
            f.write(extension + "\n")
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
                "-CAcreateserial", "-days", "2", "-extfile", name + ".ext", "-out",
                name + ".pem", cwd=where)


class TLSTests(unittest.TestCase):
    """rediss:// to a redis-server with a tls-port that wants client certificates."""

    timeout = 60

    def setUp(self):
        if not shutil.which("openssl"):
            raise unittest.SkipTest("openssl not installed")
        self.certs = tempfile.mkdtemp(prefix="adh-tls-")
        self.addCleanup(shutil.rmtree, self.certs, True)
        make_certificates(self.certs)
        self.port = free_port()
        self.redis = start(self, config=[
            "tls-port %d" % self.port, "tls-cert-file " + self.path("server.pem"),
            "tls-key-file " + self.path("server-key.pem"),
            "tls-ca-cert-file " + self.path("ca.pem"), "tls-auth-clients yes"])
        self.logged = Logged(self)

    def path(self, name):
        return os.path.join(self.certs, name)

    def url(self, ca="ca.pem", client=True):
        url = "rediss://127.0.0.1:%d/0?ca=%s" % (self.port, self.path(ca))
        if client:
            url += "&cert=%s&key=%s" % (self.path("client.pem"), self.path("client-key.pem"))
        return url

    @defer.inlineCallbacks
    def test_rediss_with_a_ca_and_a_client_certificate(self):
        store = yield connect(self, self.url())
        self.assertTrue(store.connected)
        self.assertEqual((yield offer(store)), "192.0.2.10")
        self.assertEqual((yield heard_changes(store)), ["mac:" + MAC])

    @defer.inlineCallbacks
    def test_a_server_certificate_from_another_ca_is_refused(self):
        store = yield connect(self, self.url(ca="other-ca.pem"), wait=1.5)
        self.assertFalse(store.connected)
        yield self.assertFailure(store.ping(), StoreUnavailable)
        self.flushLoggedErrors()

    @defer.inlineCallbacks
    def test_without_a_client_certificate_the_server_refuses(self):
        store = yield connect(self, self.url(client=False), wait=1.5)
        self.assertFalse(store.connected)
        self.flushLoggedErrors()


class URLTests(unittest.SynchronousTestCase):
    def test_forms(self):
        self.assertEqual(RedisURL.parse("redis://dhcp:p%40ss@192.0.2.9:6380/2"),
                         RedisURL(host="192.0.2.9", port=6380, db=2, username="dhcp",
                                  password="p@ss"))
        self.assertEqual(RedisURL.parse("unix://dhcp:pw@/run/redis.sock?db=1"),
                         RedisURL(path="/run/redis.sock", db=1, username="dhcp", password="pw"))
        self.assertEqual(RedisURL.parse("rediss://:pw@redis.example.test:6380/0"),
                         RedisURL(host="redis.example.test", port=6380, password="pw",
                                  tls=True))
        self.assertEqual(
            RedisURL.parse("redis+sentinel://dhcp:pw@192.0.2.1:26379/dhcp/0"),
            RedisURL(sentinels=(("192.0.2.1", 26379),), service="dhcp", username="dhcp",
                     password="pw"))

    def test_bad_ones_name_the_problem_without_the_password(self):
        for url, reason in (("rediss://:topsecret@h/0?ca=/nonexistent/ca.pem", "No such file"),
                            ("rediss://:topsecret@h/0?cert=/etc/hostname", "both cert= and key="),
                            ("redis://:topsecret@h/0?ca=/etc/hostname", "for rediss://"),
                            ("redis://:topsecret@h:x/0", "Port")):
            e = self.assertRaises(ValueError, RedisURL.parse, url)
            self.assertIn(reason, str(e))
            self.assertNotIn("topsecret", str(e))
        self.assertNotIn("topsecret", repr(RedisURL.parse("redis://:topsecret@h/0")))
