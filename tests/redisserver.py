"""A private, throwaway redis-server for tests.

Never touches a Redis that may already run on 127.0.0.1:6379: each
:class:`RedisServer` starts its own ``redis-server`` on a free loopback port
and a unix socket inside its own temporary directory, without persistence.

    with RedisServer() as r:
        r.cli("SET", "k", "v")

or, one per test class::

    class T(RedisTestMixin, unittest.TestCase):   # trial TestCase works
        def test_x(self):
            self.redis.cli("PING")
"""

import atexit
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

DEFAULT_PORT = 6379


def _find(name):
    return shutil.which(name) or (
        "/usr/bin/" + name if os.path.exists("/usr/bin/" + name) else None)


def _die_with_parent():
    """In the child: get SIGKILL if the test process dies (no orphans)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port():
    """A currently free loopback TCP port (never 6379)."""
    for _ in range(20):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        finally:
            s.close()
        if port != DEFAULT_PORT:
            return port
    raise RuntimeError("no free port found")


class RedisServer:
    """A redis-server subprocess in a temp dir (TCP on 127.0.0.1 + unix socket)."""

    def __init__(self, server=None, cli=None, config=(), cli_auth=()):
        """`config`: more redis.conf lines (requirepass, an ACL user, TLS); `cli_auth`: the
        redis-cli arguments that then log in (e.g. ["--user", u, "--pass", p])."""
        self.server_bin = server or _find("redis-server")
        self.cli_bin = cli or _find("redis-cli")
        self.config = list(config)
        self.cli_auth = [str(a) for a in cli_auth]
        self.proc = None
        self.dir = None
        self.port = None
        self.unix_path = None

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    @property
    def unix_url(self):
        return "unix://%s?db=0" % self.unix_path

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, timeout=10.0):
        """Start the server and wait (bounded) until it answers PING."""
        if self.proc is not None:
            return self
        if not self.server_bin or not self.cli_bin:
            raise RuntimeError("redis-server/redis-cli not found")
        self.dir = tempfile.mkdtemp(prefix="adh-redis-")
        self.unix_path = os.path.join(self.dir, "redis.sock")
        try:
            for _attempt in range(3):  # the free port may be taken meanwhile
                self.port = free_port()
                self._spawn()
                if self._wait_ready(timeout):
                    return self
                self._kill()
            raise RuntimeError("redis-server did not start: %s" % self.log())
        except BaseException:
            self.stop()
            raise

    def _spawn(self):
        conf = os.path.join(self.dir, "redis.conf")
        with open(conf, "w") as f:
            f.write("\n".join([
                "bind 127.0.0.1",
                "port %d" % self.port,
                "unixsocket %s" % self.unix_path,
                "unixsocketperm 777",
                "daemonize no",
                "appendonly no",
                'save ""',
                "dir %s" % self.dir,
                "logfile %s" % os.path.join(self.dir, "redis.log"),
            ] + self.config + [""]))
        self.proc = subprocess.Popen(
            [self.server_bin, conf], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=self.dir, preexec_fn=_die_with_parent)

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if os.path.exists(self.unix_path):
                try:
                    if self.cli("PING", timeout=2).strip() == "PONG":
                        return True
                except (subprocess.SubprocessError, OSError):
                    pass
            time.sleep(0.05)
        return False

    def log(self):
        """The server's log file contents (for error messages)."""
        try:
            with open(os.path.join(self.dir, "redis.log")) as f:
                return f.read()[-2000:]
        except (OSError, TypeError):
            return ""

    def cli(self, *args, timeout=10):
        """Run ``redis-cli`` over the unix socket; return its stdout."""
        res = subprocess.run(
            [self.cli_bin, "-s", self.unix_path] + self.cli_auth + [str(a) for a in args],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
            check=True)
        return res.stdout

    def flushall(self):
        """Remove every key in every database."""
        self.cli("FLUSHALL")

    def _kill(self):
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)

    def pause(self):
        """Stop the server (by PID), keeping its directory, port and socket path: Redis gone,
        as in an outage. With `appendonly yes` in `config` its data survives."""
        self._kill()

    def resume(self, timeout=10.0):
        """Start the paused server again on the same port and socket, from its directory."""
        if self.proc is None:
            self._spawn()
            if not self._wait_ready(timeout):
                raise RuntimeError("redis-server did not start again: %s" % self.log())
        return self

    def stop(self):
        """Kill the server (by PID) and remove its directory; idempotent."""
        self._kill()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def start_redis(testcase):
    """Start a RedisServer stopped by ``testcase.addCleanup``."""
    server = RedisServer().start()
    testcase.addCleanup(server.stop)
    return server


_shared = {}


def _stop_shared():
    while _shared:
        _shared.popitem()[1].stop()


atexit.register(_stop_shared)


def shared_redis(key="default"):
    """One RedisServer per ``key`` (e.g. a test class), stopped at exit."""
    server = _shared.get(key)
    if server is None or server.proc is None or server.proc.poll() is not None:
        if server is not None:
            server.stop()
        server = _shared[key] = RedisServer().start()
    return server


class RedisTestMixin:
    """Gives each test ``self.redis``: one server per class, flushed per test.

    (trial does not run setUpClass, hence the lazy per-class server.)
    """

    redis = None

    def setUp(self):
        super().setUp()
        if not _find("redis-server"):
            raise unittest.SkipTest("redis-server not installed")
        self.redis = shared_redis(type(self))
        self.redis.flushall()
