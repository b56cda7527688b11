"""Start-up: option checking (one-line reasons) and the plugin's discovery."""

import os
import subprocess
import sys
import tempfile

from twisted.python import usage
from twisted.trial import unittest
from twisted.web.test.requesthelper import DummyRequest

from apidhcpd import tap
from apidhcpd.heartbeat import heartbeat_resource


class OptionTests(unittest.SynchronousTestCase):
    def parse(self, *argv):
        options = tap.Options()
        options.parseOptions(["--interface", "lo", "--ip", "192.0.2.1"] + list(argv))
        return options

    def test_defaults(self):
        options = self.parse()
        self.assertEqual(options["id"], "192.0.2.1")
        self.assertEqual(options["link"].address, "192.0.2.1")
        self.assertEqual((options["offer-hold"], options["decline-probation"]), (60, 86400))
        self.assertEqual(options["redis-url"].port, 6379)
        self.assertEqual(options["cache-ttl"], 60)
        self.assertEqual(self.parse("--cache-ttl", "0")["cache-ttl"], 0)
        self.assertEqual(self.parse("--cache-ttl", "5m")["cache-ttl"], 300)
        self.assertIsNone(options["trusted-relays"])
        self.assertEqual(self.parse("--trusted-relays", "192.0.2.9, 198.51.100.1")["trusted-relays"],
                         {"192.0.2.9", "198.51.100.1"})

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

    def test_unknown_interface(self):
        options = tap.Options()
        e = self.assertRaises(usage.UsageError, options.parseOptions,
                              ["--interface", "nosuch0"])
        self.assertIn("nosuch0", str(e))


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
        from apidhcpd.heartbeat import Health
        from apidhcpd.store import StoreUnavailable

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
