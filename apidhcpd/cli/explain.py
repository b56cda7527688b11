"""`apidhcpd-cli explain mac=... [vendor-class=...] [arch=7,9] ...`: what the server would
answer a hypothetical client, and why, as a readable table (or --json, the API's answer).

Knows the words of the command line (`name=value`, the API's query parameters, plus `link=`:
the server's address and prefix on the client's network, for a client without giaddr) and
the table's layout. The question is checked by admin/routes_explain.py and answered by
dhcp4/explain.py from reads alone: nothing is written.
"""

import ipaddress
import time

from twisted.internet import defer

from apidhcpd.admin.problems import NO_LINK
from apidhcpd.admin.routes_explain import explain_query
from apidhcpd.cli.plan import Usage
from apidhcpd.cli.show import emit
from apidhcpd.dhcp4.explain import Explanation, explain
from apidhcpd.dhcp4.profile import Link


def words(given: list[str]) -> tuple[dict[str, str], Link]:
    """`name=value` words -> (the API's query parameters, the link)."""
    args: dict[str, str] = {}
    for word in given:
        name, sep, value = word.partition("=")
        if not sep or not name:
            raise Usage("%r: write name=value (e.g. mac=02:00:00:00:00:01 arch=7)" % word)
        args[name.strip().lower()] = value.strip()
    link = NO_LINK
    if "link" in args:
        try:
            interface = ipaddress.IPv4Interface(args.pop("link"))
        except ValueError as e:
            raise Usage("link: %s (write the server's address/prefix, e.g. "
                        "192.0.2.1/24)" % e) from None
        link = Link(str(interface.ip), interface.network)
    return args, link


def format_explanation(mac: str, found: Explanation) -> str:
    where = (found.subnet and "subnet %s (by %s)" % (found.subnet, found.selector)) \
        or "no subnet: key (by %s)" % found.selector
    lines = ["Client %s" % mac,
             "  host keys  %s" % ", ".join(found.host_keys),
             "  host       %s" % (found.host or "none (a dynamic client)"),
             "  network    %s" % where,
             "  group      %s" % found.group,
             "  classes    %s" % (", ".join(found.classes) + " (the last wins)"
                                  if found.classes else "none"),
             "  address    %s" % _address(found.address),
             "  lease time %d s" % found.lease_time]
    boot = ", ".join("%s %s" % item for item in found.boot.items()
                     if item[1] and item[1] != "0.0.0.0")
    lines.append("  boot       %s" % (boot or "none"))
    if found.dropped:
        lines.append("  NO ANSWER  %s%s" % (found.dropped, " (%s)" % found.drop_kind
                                             if found.drop_kind else ""))
    lines += ["", "Fields (later layers win: group:default < subnet < group < classes < host):"]
    lines += _table(("FIELD", "VALUE", "FROM"), [(f, v, s) for f, v, s in found.fields])
    lines += ["", "Options (sent when the client asks for them in option 55; the mask, and what "
              "the server adds, always):"]
    lines += _table(("CODE", "OPTION", "VALUE", "FROM"),
                    [(str(c), n, v, s) for c, n, v, s in found.options])
    if found.warnings:
        lines += ["", "Warnings:"] + ["  " + w for w in found.warnings]
    return "\n".join(lines) + "\n"


def _address(address: dict) -> str:
    if address["kind"] == "reserved":
        return "%s, reserved by %s" % (address["ip"], address["key"])
    if address["kind"] == "lease":
        until = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(address["expires"]))
        return "%s, its %s lease until %s" % (address["ip"], address["state"], until)
    parts = list(address["ranges"]) + (["the pool hash"] if address["seed_pool"] else [])
    return "a free address from %s (%s)" % (address["source"], ", ".join(parts) or "nothing")


def _table(head: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """Columns as wide as their widest cell, the last one as it is."""
    if not rows:
        return ["  (none)"]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head) - 1)]
    return ["  " + "  ".join([cell.ljust(width) for cell, width in zip(row, widths)]
                             + [row[-1]]) for row in [head, *rows]]


@defer.inlineCallbacks
def explain_client(store, args, out):
    params, link = words(args.words)
    query = explain_query(params)
    found = yield defer.ensureDeferred(explain(store, query, link, int(time.time())))
    emit(out, args, found.as_json(), format_explanation(query.mac, found))
