"""The systemd units (deploy/systemd) and running without root.

- Each unit passes `systemd-analyze verify` (its twistd pointed at this checkout's .venv).
- The master unit's own command line, with its site settings from an EnvironmentFile like the
  example, runs as `nobody` with only the unit's capabilities (setpriv, as systemd would with
  User= and AmbientCapabilities=) in a namespace: a real dhclient gets a lease, and the
  process has a non-zero uid and exactly those capabilities.
- `twistd --uid nobody` started as root binds port 67 first and then drops root: it serves a
  client with no capability left (its ARP entries fail, the reply is broadcast instead).

The checkout's .venv python lives under /root (mode 0700 here), out of nobody's reach, so
the unprivileged processes run Debian's /usr/bin/python3 (the same minor version) with the
checkout and the venv's site-packages on PYTHONPATH.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import unittest as pyunittest

from twisted.trial import unittest

from tests.integration import clients
from tests.integration.apidhcpd import REPO, ServerProcess, seed
from tests.integration.netns import make_lan, require_root_and_tools
from tests.redisserver import shared_redis

UNITS = os.path.join(REPO, "deploy", "systemd")
ENV_EXAMPLE = os.path.join(UNITS, "apidhcpd.env")
INSTALLED_TWISTD = "/opt/apidhcpd/bin/twistd"
PYTHON = "/usr/bin/python3"
RUN_TWISTD = "from twisted.scripts.twistd import run; run()"
NEEDED = "twisted, txredisapi, construct, klein, attr, zope.interface, hiredis, apidhcpd.tap"
CAPABILITY_NUMBERS = {"CAP_NET_BIND_SERVICE": 10, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13}


def read_unit(path):
    """{section: {key: value}} of a unit file (continuation lines joined)."""
    sections, current, pending = {}, None, ""
    with open(path) as f:
        for raw in f:
            line = pending + raw.rstrip("\n")
            pending = ""
            if line.endswith("\\"):
                pending = line[:-1] + " "
                continue
            line = line.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                current = sections.setdefault(line.strip("[]"), {})
                continue
            key, _, value = line.partition("=")
            current[key.strip()] = value.strip()
    return sections


def read_env(path):
    """KEY=VALUE lines of an EnvironmentFile."""
    env = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                key, _, value = line.partition("=")
                env[key.strip()] = value.strip().strip("\"'")
    return env


def expand(command, env):
    """ExecStart as systemd runs it: `${VAR}` is replaced within its word, a word that is
    only `$VAR` becomes the value's words."""
    words = []
    for word in shlex.split(command):
        whole = re.fullmatch(r"\$(\w+)", word)
        if whole:
            words += env.get(whole.group(1), "").split()
        else:
            words.append(re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), word))
    return words


def capabilities(unit, key="AmbientCapabilities"):
    return unit["Service"][key].split()


def mask(names):
    return sum(1 << CAPABILITY_NUMBERS[name] for name in names)


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


class UnitFileTests(unittest.TestCase):
    units = ("apidhcpd.service", "apidhcpd-standby.service", "apidhcpd-remote.service")

    def test_systemd_analyze_verify_is_clean(self):
        analyze = shutil.which("systemd-analyze")
        if analyze is None:
            raise pyunittest.SkipTest("systemd-analyze is not installed")
        twistd = os.path.join(REPO, ".venv", "bin", "twistd")
        workdir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, workdir)
        for name in self.units:
            with open(os.path.join(UNITS, name)) as f:
                text = f.read()
            self.assertIn(INSTALLED_TWISTD, text)
            text = text.replace(INSTALLED_TWISTD, twistd).replace(
                "/etc/apidhcpd/apidhcpd.env", ENV_EXAMPLE)
            path = os.path.join(workdir, name)
            with open(path, "w") as f:
                f.write(text)
            result = subprocess.run([analyze, "verify", path], capture_output=True, text=True,
                                    timeout=60)
            self.assertEqual((result.returncode, result.stdout + result.stderr), (0, ""), name)

    def test_every_unit_runs_unprivileged_with_three_capabilities(self):
        for name in self.units:
            unit = read_unit(os.path.join(UNITS, name))
            service = unit["Service"]
            self.assertEqual(sorted(capabilities(unit)), sorted(CAPABILITY_NUMBERS), name)
            self.assertEqual(capabilities(unit), capabilities(unit, "CapabilityBoundingSet"))
            self.assertEqual((service["User"], service["NoNewPrivileges"],
                              service["ProtectSystem"], service["Restart"]),
                             ("apidhcpd", "yes", "strict", "on-failure"), name)
            self.assertEqual(service["EnvironmentFile"], "/etc/apidhcpd/apidhcpd.env")

    def test_every_units_command_line_parses(self):
        """The example site settings make a valid twistd command line for each unit (no
        pidfile, logs to the journal)."""
        from twisted.scripts.twistd import ServerOptions
        fd, token = tempfile.mkstemp()
        os.write(fd, b"a-token\n")
        os.close(fd)
        self.addCleanup(os.unlink, token)
        env = dict(read_env(ENV_EXAMPLE), TOKEN_FILE=token)
        for name in self.units:
            argv = expand(read_unit(os.path.join(UNITS, name))["Service"]["ExecStart"], env)
            self.assertEqual(argv[0], INSTALLED_TWISTD)
            options = ServerOptions()
            options.parseOptions(argv[1:])
            self.assertEqual((options["nodaemon"], options["pidfile"], options["logfile"],
                              options.subCommand), (True, "", "-", "apidhcpd"), name)
            self.assertEqual(options.subOptions["interface"], "eth0")
        self.assertTrue(options.subOptions["api-url"])  # the remote unit: no Redis of its own


class UnprivilegedServer(ServerProcess):
    """`argv` in the host's namespace, its stdout/stderr (`-l -`) in a log file."""

    def __init__(self, host, argv, env):
        self.host = host
        self.log_path = os.path.join(host.lan.mkdtemp("apidhcpd"), "apidhcpd.log")
        with open(self.log_path, "w") as log:
            self.proc = host.spawn(argv, env=env, stdout=log)
        self.wait_for("serving DHCP")


class NamespaceTests(unittest.TestCase):
    timeout = 120

    def setUp(self):
        require_root_and_tools(self, "dhclient", "setpriv", "redis-server")
        self.pythonpath = "%s:%s" % (REPO, sysconfig.get_paths()["purelib"])
        self.env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
                    "PYTHONPATH": self.pythonpath, "PYTHONDONTWRITEBYTECODE": "1"}
        self.require_python_for_nobody()
        self.redis = shared_redis("unprivileged")
        os.chmod(self.redis.dir, 0o711)  # nobody may reach the socket (unixsocketperm 777)
        self.redis.flushall()
        seed(self.redis)
        self.lan = make_lan(self)
        self.srv = self.lan.add_host("srv", "192.0.2.1/24")
        self.cli = self.lan.add_host("cli")

    def require_python_for_nobody(self):
        if not os.access(PYTHON, os.X_OK):
            raise pyunittest.SkipTest("%s is missing" % PYTHON)
        version = subprocess.run([PYTHON, "-c", "import sys; print(sys.version_info[:2])"],
                                 capture_output=True, text=True, timeout=30).stdout.strip()
        if version != str(tuple(sys.version_info[:2])):
            raise pyunittest.SkipTest("%s is Python %s, the venv's packages are for %s"
                                      % (PYTHON, version, tuple(sys.version_info[:2])))
        check = subprocess.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", PYTHON, "-c",
             "import " + NEEDED], env=self.env, capture_output=True, text=True, timeout=60)
        if check.returncode:
            raise pyunittest.SkipTest("nobody cannot import %s with %s: %s"
                                      % (NEEDED, PYTHON, check.stderr.strip()[-300:]))

    def token_file(self):
        """A token file only the unprivileged user can read, in a directory it can reach."""
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory)
        os.chmod(directory, 0o755)
        path = os.path.join(directory, "token")
        with open(path, "w") as f:
            f.write("a-token\n")
        os.chown(path, 65534, 65534)
        os.chmod(path, 0o600)
        return path

    def assert_runs_as_nobody(self, pid, capability_mask):
        status = proc_status(pid)
        self.assertEqual(status["Uid"].split(), ["65534"] * 4, status["Uid"])
        self.assertEqual(status["Gid"].split(), ["65534"] * 4, status["Gid"])
        for key in ("CapEff", "CapPrm", "CapInh"):
            self.assertEqual(int(status[key], 16), capability_mask, (key, status[key]))
        return status

    def test_the_units_command_line_serves_as_nobody_with_only_its_capabilities(self):
        unit = read_unit(os.path.join(UNITS, "apidhcpd.service"))
        site = dict(read_env(ENV_EXAMPLE), INTERFACE=self.srv.iface,
                    REDIS=self.redis.unix_url, TOKEN_FILE=self.token_file(),
                    OPTIONS="--heartbeat-port 0 --reclaim-interval 1s")
        argv = expand(unit["Service"]["ExecStart"], site)
        self.assertEqual(argv[0], INSTALLED_TWISTD)
        caps = ",".join("+" + c[len("CAP_"):].lower() for c in capabilities(unit))
        setpriv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                   "--inh-caps=" + caps, "--ambient-caps=" + caps,
                   "--bounding-set=-all," + caps]
        if unit["Service"].get("NoNewPrivileges") == "yes":
            setpriv.append("--no-new-privs")
        server = UnprivilegedServer(self.srv, setpriv + ["--", PYTHON, "-c", RUN_TWISTD]
                                    + argv[1:], self.env)
        lease = clients.run_dhclient(self.cli)
        self.assertTrue(lease.ok, lease.log + server.log())
        self.assertEqual(lease.server_id, "192.0.2.1")
        self.assertEqual(self.redis.cli("HGET", "lease:" + lease.ip, "mac").strip(),
                         self.cli.mac)
        expected = mask(capabilities(unit))
        status = self.assert_runs_as_nobody(server.proc.pid, expected)
        self.assertEqual((int(status["CapBnd"], 16), int(status["CapAmb"], 16),
                          status["NoNewPrivs"]), (expected, expected, "1"))
        # what CAP_NET_ADMIN is for: the ARP entry for the client's new address (so the
        # reply was unicast to it) and a receive buffer past rmem_max
        neighbours = self.srv.run(["ip", "neigh", "show", "dev", self.srv.iface]).stdout
        self.assertIn("%s lladdr %s" % (lease.ip, self.cli.mac), neighbours)
        sockets = self.srv.run(["ss", "-u", "-a", "-n", "-m", "sport = :67"]).stdout
        buffers = [int(b) for b in re.findall(r"rb(\d+)", sockets)]
        self.assertEqual(len(buffers), 1, sockets)
        self.assertGreaterEqual(buffers[0], 4 << 20, sockets)
        self.assertTrue(server.alive())
        self.assertNotIn("Traceback", server.log())

    def test_twistd_uid_drops_root_after_binding_the_port(self):
        """Before: the socket was bound in startService, after the drop: EACCES on port 67."""
        argv = [PYTHON, "-c", RUN_TWISTD, "-n", "--pidfile=", "-l", "-",
                "--uid", "nobody", "--gid", "nogroup", "apidhcpd",
                "--interface", self.srv.iface, "--redis", self.redis.unix_url,
                "--heartbeat-port", "0", "--reclaim-interval", "1s"]
        server = UnprivilegedServer(self.srv, argv, self.env)
        self.assertIn("set uid/gid 65534/65534", server.log())
        self.assert_runs_as_nobody(server.proc.pid, 0)
        lease = clients.run_dhclient(self.cli)  # no ARP entry now: the reply is broadcast
        self.assertTrue(lease.ok, lease.log + server.log())
        self.assertEqual(lease.server_id, "192.0.2.1")
        self.assertTrue(server.alive())
        self.assertNotIn("Traceback", server.log())
