"""`GET /api/v1/explain`: what the server would answer a hypothetical client, and why.

Knows the question's parameters (shared with `apidhcpd-cli explain`, which reads them as
`name=value` words) and how their values are checked: a bad value is a 400. The answer is
dhcp4/explain.py's, built from IAdmin reads only: explain writes nothing, so, like every
read, it needs no token.
"""

import string
from collections.abc import Mapping

from apidhcpd.admin.app import AdminApp
from apidhcpd.admin.inputs import Invalid, ipv4, normalise_mac
from apidhcpd.admin.web import json_reply, query_args
from apidhcpd.dhcp4.explain import Query, explain

PARAMETERS = ("mac", "vendor-class", "user-class", "arch", "client-id", "hostname", "giaddr",
              "circuit-id", "remote-id")
_HEX = frozenset(string.hexdigits)
MAX_TEXT = 255  # an option's longest value

app = AdminApp.app


def _bad(name: str, why: str) -> Invalid:
    return Invalid(400, "bad %s" % name, ["%s: %s" % (name, why)])


def explain_query(args: Mapping[str, str]) -> Query:
    """The Query of these parameters (PARAMETERS); Invalid (400) for a missing MAC, an
    unknown parameter or a value that does not read."""
    unknown = sorted(set(args) - set(PARAMETERS))
    if unknown:
        raise Invalid(400, "unknown parameter", ["%s (use %s)" % (
            ", ".join(unknown), ", ".join(PARAMETERS))])
    if not args.get("mac"):
        raise _bad("mac", "the client's MAC address is required")
    for name in PARAMETERS:
        if len(args.get(name) or "") > MAX_TEXT:
            raise _bad(name, "longer than %d characters" % MAX_TEXT)
    arches = []
    for part in filter(None, (p.strip() for p in (args.get("arch") or "").split(","))):
        if not part.isdigit() or int(part) > 0xFFFF:
            raise _bad("arch", "%r is not an architecture number (0-65535)" % part)
        arches.append(int(part))
    client_id = (args.get("client-id") or "").lower().replace(":", "").replace("-", "")
    if client_id and (len(client_id) % 2 or not set(client_id) <= _HEX):
        raise _bad("client-id", "%r is not hex (option 61, type byte first)"
                   % args["client-id"])
    giaddr = ipv4(args["giaddr"], "giaddr") if args.get("giaddr") else None
    if giaddr == "0.0.0.0":
        giaddr = None
    for name in ("circuit-id", "remote-id"):
        if args.get(name) and giaddr is None:
            raise _bad(name, "a relay's word: it counts only with giaddr")
        if any(ord(c) > 255 for c in args.get(name) or ""):
            raise _bad(name, "not Latin-1 text")
    for name in ("vendor-class", "user-class"):
        if any(ord(c) > 255 for c in args.get(name) or ""):
            raise _bad(name, "not Latin-1 text")
    return Query(mac=normalise_mac(args["mac"]), vendor_class=args.get("vendor-class") or None,
                 user_class=args.get("user-class") or None, arches=tuple(arches),
                 client_id=client_id or None, hostname=args.get("hostname") or None,
                 giaddr=giaddr, circuit_id=args.get("circuit-id") or None,
                 remote_id=args.get("remote-id") or None)


class ExplainRoutes(AdminApp):
    """/api/v1/explain."""

    @app.route("/api/v1/explain", methods=["GET"])
    async def explain(self, request):
        query = explain_query(query_args(request, PARAMETERS))
        found = await explain(self.store, query, self.link, self.now())
        return json_reply(request, 200, found.as_json())
