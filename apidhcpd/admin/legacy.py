"""The seed's legacy query (`POST /`): what a DHCP client with this MAC (and host name) gets.

Knows how a query becomes a DHCP message answered by DHCPServer.resolve, the same code path as
a packet (a DISCOVER, and for the seed's form the REQUEST that commits the offer at once), and
how the answer is written: our own form (numbers as numbers, our method names) or the seed's
Go types (its dhcpResponse struct: strings, a time.Duration, a bool). Knows who may ask
(loopback, or the token) but nothing of the inventory routes.
"""

import ipaddress
import os
import re

from apidhcpd.admin.app import AdminApp
from apidhcpd.admin.inputs import ipv4, normalise_mac
from apidhcpd.admin.web import ApiError, empty_reply, is_loopback, json_body, json_reply
from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.message import Message
from apidhcpd.store import keys

METHODS = {keys.MAC: "mac", keys.CLIENT: "client", keys.RELAY: "relay", keys.REMOTE: "relay"}
# the seed's dhcp-api said how it found the client in these words (its Go `Method` string)
SEED_METHODS = {"client": "ByClientID", "mac": "ByHardwareAddress", "dynamic": "Dynamic",
                "relay": "ByRelayAgent"}
NANOSECONDS = 1_000_000_000  # a Go time.Duration counts them
_HEX = re.compile(r"^(?:[0-9a-fA-F]{2})+$")

app = AdminApp.app


def legacy_answer(tx, mac: str, client: str | None) -> dict:
    """The seed's response JSON from a transaction's reply and the host it found."""
    reply = tx.reply
    host = tx.lookup.host if tx.lookup else None
    netmask = reply.get(1)
    if host is not None and host.reserved_ip:
        method = METHODS.get(host.key.split(":", 1)[0] + ":", "mac")
    else:
        method = "dynamic"
    return {
        "mac": mac, "client": client or "", "ip": reply.yiaddr,
        "hostname": reply.get(12) or "",
        "gateway": ",".join(reply.get(3) or []),
        "netmask": netmask or "",
        "broadcast": reply.get(28) or "",
        "prefix": ipaddress.IPv4Network("0.0.0.0/" + netmask).prefixlen if netmask else None,
        "dns": ",".join(reply.get(6) or []),
        "domain": reply.get(15) or "",
        "ntp": ",".join(reply.get(42) or []),
        "leasetime": reply.get(51),
        "description": host.fields.get("description", "") if host else "",
        "method": method,
        "slave": False,
    }


def seed_answer(answer: dict) -> dict:
    """Our legacy answer in the seed's own types, as its dhcp-daemon decodes them into its Go
    struct: every field a string but `leasetime` (a time.Duration: integer nanoseconds) and
    `slave` (a bool), `method` in the seed's words; absent values are Go's zero values."""
    seed: dict[str, object] = {name: ("" if value is None else str(value))
                               for name, value in answer.items()
                               if name not in ("leasetime", "slave", "method")}
    seed["leasetime"] = int(answer.get("leasetime") or 0) * NANOSECONDS
    seed["method"] = SEED_METHODS.get(answer["method"], answer["method"])
    seed["slave"] = bool(answer.get("slave"))
    return seed


def _why_no_answer(tx) -> str:
    """The likely reason a well-formed legacy query got no answer (the log has the exact one)."""
    if tx.request.message_type == opt.DISCOVER:
        host = tx.lookup.host
        if host is not None and host.reserved_ip:
            return "reserved address %s is not on %s" % (host.reserved_ip, tx.profile.network)
        return "no free address for group %s" % tx.lookup.group_name
    return "no record of %s for %s (the server is not authoritative)" % (
        tx.request.requested_ip, tx.mac)


class LegacyRoutes(AdminApp):
    """POST /."""

    @app.route("/", methods=["POST"])
    async def legacy(self, request):
        """`{"mac", "client"}` without `op` is the seed's query: the seed's answer in its own
        types (seed_answer), and a dynamic address committed at once as a lease, as the
        seed's dhcp-api did (its dhcp-daemon ACKs what it is told and never asks again).
        With `op` it is our own form (the --api-url daemon's): `"op": "discover"` offers,
        `"op": "request"` + `"ip"` commits (an INIT-REBOOT REQUEST), `"op": "release"` +
        `"ip"` releases, `"op": "ping"` checks the store; numbers are numbers. Optional
        `client_id` (option 61, hex), `vendor_class`, `user_class`, `arch` (options 60, 77,
        93: what client classes match) and `giaddr` (the request is placed on that relay's
        subnet). A token is needed only from outside loopback, when one is set."""
        self._check_origin(request)
        if not is_loopback(request):
            if self.token is None:
                raise ApiError(403, "the legacy query is loopback-only", [
                    "start apidhcpd with --api-token-file FILE to answer it from elsewhere"])
            self._authorize(request)
        body = json_body(request)
        seed_form = "op" not in body
        op = body.get("op") or "discover"
        if op == "ping":
            await self.store.ping()
            return json_reply(request, 200, {"ok": True})
        if op not in ("discover", "request", "release"):
            raise ApiError(400, "bad op", ["op is discover (default), request, release or ping"])
        mac = normalise_mac(body.get("mac"))
        client = body.get("client")
        if client is not None and not isinstance(client, str):
            raise ApiError(400, "bad client", ["client is a string (the client's host name)"])
        msg = Message(op=1, xid=int.from_bytes(os.urandom(4), "big"),
                      chaddr=bytes.fromhex(mac.replace(":", "")))
        if op == "discover":
            msg.set(53, opt.DISCOVER)
        elif op == "request":
            msg.set(53, opt.REQUEST)
            msg.set(50, ipv4(body.get("ip"), "ip"))
        else:
            msg.set(53, opt.RELEASE)
            msg.ciaddr = ipv4(body.get("ip"), "ip")
            msg.set(54, self.server.policy.server_id)
        if client:
            try:
                msg.set(12, client)
            except opt.OptionError as e:
                raise ApiError(400, "bad client", [str(e)]) from e
        self._legacy_extensions(msg, body)
        tx = await self.server.resolve(msg, self.link)
        if op == "release":
            return empty_reply(request)
        if tx.reply is None:
            if tx.lookup is None or tx.profile is None:
                raise ApiError(503, "no answer", ["the store did not answer in time"])
            raise ApiError(404, "no answer", [_why_no_answer(tx)])
        if tx.reply.message_type == opt.NAK:
            raise ApiError(409, "nak", [tx.reply.get(56) or ""])
        if not seed_form:
            return json_reply(request, 200, legacy_answer(tx, mac, client))
        host = tx.lookup.host
        if tx.reply.message_type == opt.OFFER and not (host and host.reserved_ip):
            tx = await self._commit_offer(msg, tx.reply)
        return json_reply(request, 200, seed_answer(legacy_answer(tx, mac, client)))

    async def _commit_offer(self, discover, offer):
        """The REQUEST a client would send for `offer` (SELECTING): the seed's query binds a
        dynamic address at once."""
        msg = Message(op=1, xid=discover.xid, chaddr=discover.chaddr, giaddr=discover.giaddr)
        msg.set(53, opt.REQUEST)
        msg.set(50, offer.yiaddr)
        msg.set(54, offer.server_id)
        for code in (12, 60, 61, 77, 82, 93):  # what the lookup and the classes read
            if code in discover.options:
                msg.options[code] = discover.options[code]
        tx = await self.server.resolve(msg, self.link)
        if tx.reply is None or tx.reply.message_type != opt.ACK:
            reason = tx.reply.get(56) if tx.reply is not None else "the commit got no answer"
            raise ApiError(409, "not committed", [reason or "the address was not committed"])
        return tx

    def _legacy_extensions(self, msg, body) -> None:
        """`client_id` -> option 61; `vendor_class`, `user_class` (text) and `arch` (a list
        of numbers) -> options 60, 77 and 93, which client classes match; `giaddr` -> the
        relay address (0.0.0.0: none), which must be a trusted relay when --trusted-relays is
        set (the server would drop it)."""
        for name, code in (("vendor_class", 60), ("user_class", 77)):
            text = body.get(name)
            if text is None:
                continue
            if not isinstance(text, str) or not 0 < len(text.encode()) <= 255:
                raise ApiError(400, "bad " + name, [name + " is text, 1 to 255 bytes"])
            msg.set_raw(code, text.encode())
        arch = body.get("arch")
        if arch is not None:
            if not (isinstance(arch, list) and 0 < len(arch) <= 127 and all(
                    type(a) is int and 0 <= a <= 0xFFFF for a in arch)):
                raise ApiError(400, "bad arch", ["arch is a list of option 93 numbers "
                                                 "(0-65535), e.g. [7]"])
            msg.set_raw(93, b"".join(a.to_bytes(2, "big") for a in arch))
        client_id = body.get("client_id")
        if client_id is not None:
            text = client_id.strip() if isinstance(client_id, str) else ""
            if not _HEX.match(text) or len(text) > 510:
                raise ApiError(400, "bad client_id", ["client_id is option 61 as hex, type "
                                                      "byte first, 2 to 255 bytes"])
            try:
                msg.set(61, bytes.fromhex(text))
            except opt.OptionError as e:
                raise ApiError(400, "bad client_id", [str(e)]) from e
        if body.get("giaddr") is not None:
            msg.giaddr = ipv4(body["giaddr"], "giaddr")
            trusted = self.server.policy.trusted_relays
            if trusted is not None and msg.giaddr != "0.0.0.0" and msg.giaddr not in trusted:
                raise ApiError(403, "relay not trusted", [
                    "giaddr %s is not one of --trusted-relays" % msg.giaddr])
