"""apidhcpd-cli: show and change the Redis inventory (docs/cli.md).

This module parses the command line, connects to the store and dispatches to show.py (reads),
explain.py (what a client would get, and why), edit.py (set, delete, pool, lease) and
importers.py (import); it maps the CLI's failures to exit statuses (0, 1, 2 for a usage
error). Every read and write goes through the store's IAdmin methods, so the reserved-address
index stays true; validation.py judges every change (with inventory.build_profile, the same
reader the server uses) before anything is written.
"""

import argparse
import os
import sys

from twisted.internet import defer, task

from apidhcpd.admin.validation import Invalid
from apidhcpd.cli.edit import delete_entry, lease_release, pool_add, pool_remove, set_entry
from apidhcpd.cli.explain import explain_client
from apidhcpd.cli.importers import import_file
from apidhcpd.cli.plan import Failed, Usage
from apidhcpd.cli.show import SHOW

DEFAULT_URL = "redis://127.0.0.1:6379/0"
KINDS = ["host", "client", "group", "subnet", "class", "subnet6", "duid"]  # set, delete
PROG = "apidhcpd-cli"
CONNECT_TIMEOUT = 5.0


# ---------------------------------------------------------------------------------------------
# the command line

def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog=PROG, description="Show and change the apidhcpd "
                                  "inventory in Redis (docs/cli.md).")
    top.add_argument("--redis", default=os.environ.get("APIDHCPD_REDIS", DEFAULT_URL),
                     help="redis://[:password@]host[:port][/db] or unix:///path?db=N "
                     "(default $APIDHCPD_REDIS or %s)" % DEFAULT_URL)
    top.add_argument("--json", action="store_true", help="JSON output, for scripts")
    json_flag = argparse.ArgumentParser(add_help=False)
    json_flag.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    commands = top.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    show = commands.add_parser("show", parents=[json_flag], help="show the inventory")
    show.add_argument("what", choices=sorted(SHOW))

    set_ = commands.add_parser("set", parents=[json_flag], help="create or change an entry")
    set_.add_argument("kind", choices=KINDS)
    set_.add_argument("key", help="MAC, client id, group or class name, network/length (an "
                      "IPv6 one for subnet6), or DUID (hex)")
    set_.add_argument("fields", nargs="+", metavar="field=value",
                      help="`field=` removes the field")
    set_.add_argument("--replace", action="store_true",
                      help="replace the whole hash instead of merging into it")

    delete = commands.add_parser("delete", help="delete an entry")
    delete.add_argument("kind", choices=KINDS)
    delete.add_argument("key")

    pool = commands.add_parser("pool", help="the seed's dynamic pool hash")
    pool_commands = pool.add_subparsers(dest="action", metavar="ACTION")
    pool_commands.required = True
    add = pool_commands.add_parser("add", help="add addresses (A.B.C.D or first-last)")
    add.add_argument("addresses", nargs="+", metavar="ADDR")
    remove = pool_commands.add_parser("remove", help="remove addresses")
    remove.add_argument("addresses", nargs="+", metavar="ADDR")
    remove.add_argument("--force", action="store_true", help="even if a client holds them")

    lease = commands.add_parser("lease", help="leases")
    lease_commands = lease.add_subparsers(dest="action", metavar="ACTION")
    lease_commands.required = True
    release = lease_commands.add_parser("release", help="end the lease on an address")
    release.add_argument("ip")

    explain = commands.add_parser(
        "explain", parents=[json_flag],
        help="what the server would answer a client, and why (writes nothing)")
    explain.add_argument("words", nargs="+", metavar="name=value",
                         help="mac= (required), vendor-class=, user-class=, arch=, client-id=, "
                         "hostname=, giaddr=, circuit-id=, remote-id=, link=ADDR/LEN")

    imp = commands.add_parser("import", help="import a redis-cli script or dhcpd.conf hosts")
    imp.add_argument("file", help="file name, or - for stdin")
    imp.add_argument("--format", choices=["seed", "dhcpd"], help="default: detected")
    imp.add_argument("--group", help="group for the hosts of a dhcpd.conf")
    imp.add_argument("--dry-run", action="store_true", help="print what would be written")
    return top


def dispatch(store, args, out, err, stdin):
    if args.command == "show":
        return SHOW[args.what](store, args, out)
    if args.command == "set":
        return set_entry(store, args, out, err)
    if args.command == "delete":
        return delete_entry(store, args, out)
    if args.command == "pool":
        return (pool_add if args.action == "add" else pool_remove)(store, args, out)
    if args.command == "lease":
        return lease_release(store, args, out)
    if args.command == "explain":
        return explain_client(store, args, out)
    return import_file(store, args, out, err, stdin)


@defer.inlineCallbacks
def connect(url, reactor):
    from apidhcpd.store.redis import RedisStore  # txredisapi only when a command runs
    store = RedisStore(url, reactor, timeout=10.0, poolsize=1)
    store.connect()
    deadline = reactor.seconds() + CONNECT_TIMEOUT
    while not store.connected:
        if reactor.seconds() > deadline:
            yield store.disconnect()
            raise Failed("cannot connect to Redis at %s" % (
                url.path or "%s:%d" % (url.host, url.port)))
        yield task.deferLater(reactor, 0.02, lambda: None)
    return store


def _fail(err, lines) -> int:
    for line in lines:
        err.write("%s: %s\n" % (PROG, line))
    return 1


@defer.inlineCallbacks
def run(argv, reactor, out=None, err=None, stdin=None):
    """Run one command; the exit status (0, 1 on failure, 2 on a usage error)."""
    from apidhcpd.store.redis import RedisURL
    out, err, stdin = out or sys.stdout, err or sys.stderr, stdin or sys.stdin
    top = parser()
    try:
        args = top.parse_args(argv)
    except SystemExit as e:
        return e.code
    try:
        url = RedisURL.parse(args.redis)
    except ValueError as e:
        _fail(err, [str(e)])
        return 2
    store = None
    try:
        store = yield connect(url, reactor)
        yield dispatch(store, args, out, err, stdin)
    except Usage as e:
        top.print_usage(err)
        _fail(err, e.args)
        return 2
    except Failed as e:
        return _fail(err, e.args)
    except Invalid as e:
        return _fail(err, e.lines())
    except Exception as e:  # Redis errors: one line, not a traceback
        return _fail(err, ["%s: %s" % (type(e).__name__, e)])
    finally:
        if store is not None:
            yield store.disconnect()
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    codes: list[int] = []

    def _main(reactor):
        return run(argv, reactor).addCallback(codes.append)

    try:
        task.react(_main)
    except SystemExit as e:
        if codes:
            return codes[0]
        return e.code if isinstance(e.code, int) else 1
    return codes[0] if codes else 1


if __name__ == "__main__":
    sys.exit(main())
