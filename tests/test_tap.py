"""Start-up: option checking (one-line reasons) and the plugin's discovery."""

import ipaddress
import os
import socket
import subprocess
import sys
import tempfile

from twisted.internet.task import Clock
from twisted.python import usage
from twisted.trial import unittest
from twisted.web.test.requesthelper import DummyRequest

from apidhcpd import tap
from apidhcpd.ha.heartbeat import heartbeat_resource

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class OptionTests(unittest.SynchronousTestCase):
    def parse(self, *argv):
        options = tap.Options()
        options.parseOptions(["--interface", "lo", "--ip", "192.0.2.1"] + list(argv))
        return options

    def test_every_duration_option_takes_go_durations(self):
        options = self.parse("--redis-timeout", "500ms", "--peer-interval", "1.5s",
                             "--peer-timeout", "250ms", "--offer-hold", "2m",
                             "--decline-probation", "1h30m", "--reclaim-interval", "30",
                             "--cache-ttl", "90s")
        self.assertEqual([options[name] for name in (
            "redis-timeout", "peer-interval", "peer-timeout", "offer-hold",
            "decline-probation", "reclaim-interval", "cache-ttl")],
            [0.5, 1.5, 0.25, 120, 5400, 30, 90])
        for bad in ("2m", "0ms", "fast", "-1s"):
            with self.assertRaises(usage.UsageError):
                self.parse("--redis-timeout", bad)

    def test_defaults(self):
        options = self.parse()
        self.assertEqual(options["interfaces"], (tap.Served("lo", "192.0.2.1", None),))
        [(_, link, server_id)] = tap.links(options)
        self.assertEqual((link.address, str(link.network), server_id),
                         ("192.0.2.1", "127.0.0.0/8", "192.0.2.1"))
        self.assertEqual((options["offer-hold"], options["decline-probation"]), (60, 86400))
        self.assertEqual(options["redis-url"].port, 6379)
        self.assertEqual(options["cache-ttl"], 60)
        self.assertEqual(self.parse("--cache-ttl", "0")["cache-ttl"], 0)
        self.assertEqual(self.parse("--cache-ttl", "5m")["cache-ttl"], 300)
        self.assertIsNone(options["trusted-relays"])
        parsed = self.parse("--trusted-relays", "192.0.2.9, 198.51.100.1")
        self.assertEqual(parsed["trusted-relays"], {"192.0.2.9", "198.51.100.1"})

    def test_bad_values_fail_with_a_reason(self):
        cases = [
            (["--redis", "http://x"], "bad Redis URL"),
            (["--redis", "redis+sentinel://h:x/m"], "bad Redis URL"),
            (["--offer-hold", "soon"], "bad duration"),
            (["--id", "not-an-ip"], "not-an-ip"),
            (["--ip", "300.1.1.1"], "300.1.1.1"),
            (["--port", "70000"], "--port must be a port number"),
            (["--api-url", "ftp://192.0.2.9/"], "--api-url must be an http"),
            (["--slave"], "--slave needs --master-ip"),
            (["--allow-slave"], "only make sense with --slave"),
            (["--slave", "--master-ip", "x"], "'x'"),
            (["--slave", "--master-ip", "192.0.2.9", "--peer-timeout", "soon"],
             "bad --peer-timeout"),
            (["--redis-timeout", "0"], "bad --redis-timeout"),
            (["--trusted-relays", "192.0.2.1,nope"], "nope"),
            (["--cache-ttl", "soon"], "bad --cache-ttl"),
        ]
        for argv, reason in cases:
            e = self.assertRaises(usage.UsageError, self.parse, *argv)
            self.assertIn(reason, str(e), argv)
            self.assertNotIn("\n", str(e))

    def test_parsing_asks_nothing_of_the_system(self):
        """The interface is read when the service is built, not while options are parsed
        (before: an ioctl in postOptions)."""
        asked = []
        self.patch(tap.interface, "address_of", lambda name: asked.append(name))
        options = tap.Options()
        options.parseOptions(["--interface", "nosuch0"])
        self.assertEqual((asked, options["interfaces"]), ([], (tap.Served("nosuch0"),)))

    def test_unknown_interface_stops_the_start_with_one_line(self):
        options = tap.Options()
        options.parseOptions(["--interface", "nosuch0"])
        e = self.assertRaises(tap.StartupError, tap.makeService, options, Clock())
        self.assertEqual(e.code, "apidhcpd: interface nosuch0 has no usable IPv4 address "
                                 "(No such device)")

    def test_twistd_prints_one_line_for_an_unknown_interface(self):
        """Before: twistd printed its whole usage text, then the reason."""
        twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
        result = subprocess.run(
            [twistd, "-n", "--pidfile=", "apidhcpd", "--interface", "nosuch0",
             "--heartbeat-port", "0", "--api-listen", "none"],
            env=dict(os.environ, PYTHONPATH=REPO), cwd=tempfile.gettempdir(),
            capture_output=True, text=True, timeout=60)
        self.assertEqual((result.returncode, result.stdout, result.stderr),
                         (1, "", "apidhcpd: interface nosuch0 has no usable IPv4 address "
                                 "(No such device)\n"))


class SeveralInterfacesOptionTests(unittest.SynchronousTestCase):
    def parse(self, *argv):
        options = tap.Options()
        options.parseOptions(list(argv))
        return options["interfaces"]

    def test_one_address_per_interface_or_none(self):
        self.assertEqual(self.parse("--interface", "eth0, eth1"),
                         (tap.Served("eth0"), tap.Served("eth1")))
        self.assertEqual(self.parse("--interface", "eth0,eth1", "--ip", "0.0.0.0,198.51.100.5",
                                    "--id", "192.0.2.1,198.51.100.5"),
                         (tap.Served("eth0", None, "192.0.2.1"),
                          tap.Served("eth1", "198.51.100.5", "198.51.100.5")))

    def test_what_makes_no_sense_is_refused_with_a_reason(self):
        cases = [
            (["--interface", "eth0,eth1", "--ip", "192.0.2.1"],
             "--ip 192.0.2.1 is one address for 2 interfaces: give one per interface"),
            (["--interface", "eth0,eth1", "--id", "192.0.2.1"],
             "--id 192.0.2.1 is one address for 2 interfaces"),
            (["--interface", "eth0,eth1", "--id", "192.0.2.1,192.0.2.2,192.0.2.3"],
             "--id gives 3 addresses for 2 interfaces"),
            (["--interface", "eth0", "--ip", "192.0.2.1,192.0.2.2"],
             "--ip gives 2 addresses for 1 interfaces"),
            (["--interface", "eth0,eth1", "--ip", "192.0.2.1,nope"], "nope"),
            (["--interface", "eth0,eth0"], "--interface names eth0 twice"),
            (["--interface", "eth0,"], "bad --interface name ''"),
            (["--interface", "a/b"], "bad --interface name 'a/b'"),
            (["--interface", "x" * 16], "bad --interface name"),
            (["--interface", "eth0,eth1", "--workers", "2"],
             "--workers serves one interface"),
        ]
        for argv, reason in cases:
            e = self.assertRaises(usage.UsageError, self.parse, *argv)
            self.assertIn(reason, str(e), argv)
            self.assertNotIn("\n", str(e))

    def test_workers_are_refused_with_twistd_uid(self):
        from twisted.scripts.twistd import ServerOptions
        e = self.assertRaises(usage.UsageError, ServerOptions().parseOptions,
                              ["--uid", str(os.getuid()), "apidhcpd", "--workers", "2"])
        self.assertIn("--workers does not work with twistd --uid", str(e))

    def test_one_server_per_interface_sharing_the_counters(self):
        addresses = {"eth0": "192.0.2.1/24", "eth1": "198.51.100.1/24"}
        self.patch(tap.interface, "address_of",
                   lambda name: ipaddress.IPv4Interface(addresses[name]))
        options = tap.Options()
        options.parseOptions(["--interface", "eth0,eth1", "--id", "192.0.2.1,198.51.100.9",
                              "--heartbeat-port", "0", "--api-listen", "127.0.0.1:18080"])
        made, real = [], tap.api.AdminAPI
        self.patch(tap.api, "AdminAPI", lambda *a, **kw: made.append(real(*a, **kw)) or made[0])
        top = tap.makeService(options, Clock())
        dhcp = [s for s in top if isinstance(s, tap.DHCPService)]
        self.assertEqual([(s.ifname, s.protocol.link.address, str(s.protocol.link.network),
                           s.protocol.server.policy.server_id) for s in dhcp],
                         [("eth0", "192.0.2.1", "192.0.2.0/24", "192.0.2.1"),
                          ("eth1", "198.51.100.1", "198.51.100.0/24", "198.51.100.9")])
        first, second = (s.protocol for s in dhcp)
        self.assertIs(first.server.counters, second.server.counters)
        self.assertIsNot(first.server.policy, second.server.policy)
        self.assertIs(first.server.store, second.server.store)
        first.malformed, second.malformed = 2, 3
        [admin] = made  # /metrics counts both interfaces; the legacy query uses the first
        self.assertEqual((admin.protocol.malformed, admin.server, admin.link),
                         (5, first.server, first.link))


class DHCPServiceTests(unittest.SynchronousTestCase):
    def test_the_socket_is_bound_before_privileges_are_dropped(self):
        """twistd calls privilegedStartService, drops --uid, then startService: the port
        must be bound in the first (before: in startService, as the unprivileged user)."""
        from twisted.internet import reactor
        from twisted.internet.protocol import DatagramProtocol
        dhcp = tap.DHCPService(DatagramProtocol(), 0, "lo", reactor)
        dhcp.privilegedStartService()
        self.assertIsNotNone(dhcp.port)
        self.addCleanup(dhcp.port.stopListening)
        sock = dhcp.port.socket
        self.assertEqual(sock.getsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, 16)
                         .rstrip(b"\0"), b"lo")
        self.assertEqual(sock.getsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST), 1)

    def test_a_port_in_use_is_one_line(self):
        from twisted.internet import reactor
        from twisted.internet.protocol import DatagramProtocol
        first = tap.DHCPService(DatagramProtocol(), 0, "lo", reactor)
        first.privilegedStartService()
        self.addCleanup(first.port.stopListening)
        port = first.port.getHost().port
        again = tap.DHCPService(DatagramProtocol(), port, "lo", reactor)
        e = self.assertRaises(tap.StartupError, again.privilegedStartService)
        self.assertEqual(e.code, "apidhcpd: cannot listen on lo port %d: Address already in use"
                         % port)


class HeartbeatTests(unittest.SynchronousTestCase):
    def get(self, problem, role="standalone"):
        class Health:
            def problem(self):
                return problem
        request = DummyRequest([b"ping"])
        resource = heartbeat_resource(Health(), lambda: role)
        body = resource.getChildWithDefault(b"ping", request).render(request)
        return request.responseCode or 200, body

    def test_ok_while_the_store_answers(self):
        self.assertEqual(self.get(None), (200, b"ok (standalone)\n"))
        self.assertEqual(self.get(None, "standby, master-dead"),
                         (200, b"ok (standby, master-dead)\n"))

    def test_503_with_the_reason_otherwise(self):
        self.assertEqual(self.get("no connection to Redis"),
                         (503, b"unavailable: no connection to Redis (standalone)\n"))


class HealthTests(unittest.SynchronousTestCase):
    def test_the_index_is_rebuilt_after_a_reconnect_not_after_a_slow_ping(self):
        from twisted.internet import defer

        from apidhcpd.ha.heartbeat import Health
        from apidhcpd.store.contract import StoreUnavailable

        class Store:
            connected, up = True, True

            def ping(self):
                return defer.succeed(True) if self.up else defer.fail(StoreUnavailable("x"))

        store, rebuilt = Store(), []
        health = Health(store, on_reached=[lambda: rebuilt.append(1)])
        health.check()
        self.assertEqual((health.problem(), rebuilt), (None, [1]))
        store.up = False  # slow: the connection stays
        health.check()
        store.up = True
        health.check()
        self.assertEqual(rebuilt, [1])
        store.up, store.connected = False, False  # gone
        health.check()
        self.assertEqual(health.problem(), "x")
        store.up = store.connected = True
        health.check()
        self.assertEqual(rebuilt, [1, 1])


class PluginTests(unittest.SynchronousTestCase):
    def test_installed_twistd_lists_apidhcpd(self):
        """`pip install .` put the dropin in site-packages: twistd finds it from anywhere."""
        twistd = os.path.join(os.path.dirname(sys.executable), "twistd")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        out = subprocess.run([twistd, "--help"], cwd=tempfile.gettempdir(), env=env,
                             capture_output=True, text=True, timeout=60).stdout
        self.assertIn("apidhcpd", out)
