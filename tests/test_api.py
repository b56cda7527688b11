"""The admin API, the legacy query and /metrics, through Klein's resource and treq's StubTreq,
on a MemoryStore shared with a DHCPServer on a Clock. Every response any test gets is checked
against the OpenAPI description (a small schema checker below); one class runs the API on a
real redis-server over loopback HTTP."""

import ipaddress
import json
import os
import re
import tempfile

import treq
from prometheus_client.parser import text_string_to_metric_families
from treq.testing import StubTreq
from twisted.internet import defer, reactor
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.python import usage
from twisted.trial import unittest
from twisted.web.resource import Resource
from twisted.web.server import Site

from apidhcpd import options as opt
from apidhcpd import tap
from apidhcpd.api import OPENAPI, AdminAPI, parse_listen
from apidhcpd.handlers import Policy
from apidhcpd.inventory import Link
from apidhcpd.message import Message
from apidhcpd.metrics import TimedStore
from apidhcpd.server import DHCPServer
from apidhcpd.store import MemoryStore, StoreUnavailable
from tests.redisserver import RedisTestMixin
from tests.stores import connected_store

SERVER = "192.0.2.1"
LINK = Link(SERVER, ipaddress.IPv4Network("192.0.2.0/24"))
TOKEN = "test-token-0123456789"
KNOWN, OTHER, THIRD = "02:00:00:00:01:01", "02:00:00:00:01:02", "02:00:00:00:01:03"
AUTH = object()  # "send the right token"
EXERCISED = set()  # (method, path template, status) of every checked response


# ---------------------------------------------------------------- the schema checker

def check_schema(schema, value, where="$"):
    """The part of OpenAPI 3.0 schemas that OPENAPI uses; AssertionError on a mismatch."""
    if "$ref" in schema:
        return check_schema(_resolve(schema["$ref"]), value, where)
    if "oneOf" in schema:
        matches = 0
        for option in schema["oneOf"]:
            try:
                check_schema(option, value, where)
                matches += 1
            except AssertionError:
                pass
        assert matches == 1, "%s: matches %d of oneOf" % (where, matches)
        return None
    if value is None:
        assert schema.get("nullable"), "%s: null" % where
        return None
    kind = schema.get("type")
    types = {"object": dict, "array": list, "string": str, "integer": int,
             "number": (int, float), "boolean": bool}
    if kind:
        assert isinstance(value, types[kind]) and not (
            kind in ("integer", "number") and isinstance(value, bool)), \
            "%s: %r is not %s" % (where, value, kind)
    if "enum" in schema:
        assert value in schema["enum"], "%s: %r not in %r" % (where, value, schema["enum"])
    if "minimum" in schema:
        assert value >= schema["minimum"], "%s: below minimum" % where
    if kind == "object":
        for name in schema.get("required", ()):
            assert name in value, "%s: %s missing" % (where, name)
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                check_schema(properties[name], item, "%s.%s" % (where, name))
            elif extra is False:
                raise AssertionError("%s: unexpected %s" % (where, name))
            elif isinstance(extra, dict):
                check_schema(extra, item, "%s.%s" % (where, name))
    if kind == "array":
        for index, item in enumerate(value):
            check_schema(schema["items"], item, "%s[%d]" % (where, index))
    return None


def _resolve(ref):
    node = OPENAPI
    for part in ref.lstrip("#/").split("/"):
        node = node[part]
    return node


TEMPLATES = [(re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)) + "$"), path)
             for path in OPENAPI["paths"]]


def check_response(method, path, code, content_type, body):
    """The response must be what OPENAPI says for this operation and status."""
    template = next((t for pattern, t in TEMPLATES if pattern.match(path)), None)
    operation = OPENAPI["paths"].get(template, {}).get(method.lower())
    if operation is None:  # an undescribed route or method: must be a JSON error
        check_schema(_resolve("#/components/schemas/Error"), json.loads(body))
        return
    response = operation["responses"].get(str(code)) or operation["responses"]["default"]
    assert ("default" not in operation["responses"] or str(code) in operation["responses"]
            or code >= 400), "%s %s: undescribed status %d" % (method, template, code)
    EXERCISED.add((method.lower(), template, code))
    if "content" not in response:
        assert body == b"", "%s %s %d: expected no body" % (method, template, code)
        return
    media = content_type.split(";")[0].strip()
    assert media in response["content"], "%s %s: content type %s" % (method, template, media)
    schema = response["content"][media]["schema"]
    check_schema(schema, json.loads(body) if media == "application/json" else body.decode())


# ---------------------------------------------------------------- helpers

class FromAddress(Resource):
    """Serves `inner` as if each request came from `host` (StubTreq says 127.0.0.1)."""

    isLeaf = True

    def __init__(self, inner, host):
        super().__init__()
        self.inner = inner
        self.host = host

    def render(self, request):
        request.client = IPv4Address("TCP", self.host, 40000)
        return self.inner.render(request)


class Reply:
    def __init__(self, code, headers, body):
        self.code, self.headers, self.body = code, headers, body

    @property
    def json(self):
        return json.loads(self.body)

    def header(self, name):
        values = self.headers.getRawHeaders(name)
        return values[0] if values else None


def request(mtype, mac, **options):
    msg = Message(op=1, xid=0x42, chaddr=bytes.fromhex(mac.replace(":", "")))
    msg.set(53, mtype)
    for code, value in options.items():
        msg.set(int(code[1:]), value)
    return msg


class APITestCase(unittest.TestCase):
    token = TOKEN

    def setUp(self):
        self.clock = Clock()
        self.clock.advance(1_000_000)
        self.memory = MemoryStore()
        self.memory.hset("group:default", gateway="192.0.2.1", prefix="24", dns="192.0.2.53",
                         domain="example.test.", lease_time="1h")
        self.memory.hset("group:pool", gateway="192.0.2.1", prefix="24", lease_time="30m",
                         range="192.0.2.100-192.0.2.102")
        self.memory.hset("mac:" + KNOWN, ip="192.0.2.10", hostname="printer",
                         description="The printer")
        self.store = TimedStore(self.memory)
        self.server = DHCPServer(self.store, Policy(server_id=SERVER), self.clock,
                                 log_exchanges=False)
        self.api = AdminAPI(self.store, self.server, LINK, self.token, self.clock)

    def call(self, method, path, body=None, token=AUTH, source="127.0.0.1", raw=None,
             content_type="application/json", headers=None):
        sent = dict(headers or {})
        if token is AUTH:
            token = TOKEN
        if token is not None:
            sent["Authorization"] = "Bearer " + token
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None and content_type:
            sent["Content-Type"] = content_type
        stub = StubTreq(FromAddress(self.api.resource(), source))
        d = stub.request(method, "http://192.0.2.1:8080" + path, data=data, headers=sent)
        results = []
        d.addCallback(lambda r: r.content().addCallback(
            lambda content: Reply(r.code, r.headers, content))).addBoth(results.append)
        for _ in range(3):
            stub.flush()
            self.clock.advance(0)
        self.assertEqual(len(results), 1, "no response to %s %s" % (method, path))
        reply = results[0]
        if not isinstance(reply, Reply):
            reply.raiseException()
        check_response(method, path.split("?")[0], reply.code,
                       reply.header("content-type") or "", reply.body)
        return reply

    def ok(self, method, path, body=None, code=200, **kw):
        reply = self.call(method, path, body, **kw)
        self.assertEqual(reply.code, code, reply.body)
        if (reply.header("content-type") or "").startswith("application/json"):
            return reply.json
        return reply.body.decode() or None

    def error(self, method, path, body=None, code=400, **kw):
        reply = self.call(method, path, body, **kw)
        self.assertEqual(reply.code, code, reply.body)
        return reply.json

    def handle(self, msg):
        results = []
        self.server.handle(msg, LINK).addCallback(results.append)
        self.clock.advance(0)
        return results[0]

    def dora(self, mac):
        offer = self.handle(request(opt.DISCOVER, mac))
        return self.handle(request(opt.REQUEST, mac, o50=offer.yiaddr, o54=SERVER))


# ---------------------------------------------------------------- the description

class OpenAPITests(APITestCase):
    def test_the_checker_rejects_what_does_not_match(self):
        entry = _resolve("#/components/schemas/Entry")
        check_schema(entry, {"key": "mac:x", "id": "x", "fields": {"ip": "192.0.2.1"}})
        for bad in ({"key": "k", "id": "x"}, {"key": 1, "id": "x", "fields": {}},
                    {"key": "k", "id": "x", "fields": {"ip": 7}},
                    {"key": "k", "id": "x", "fields": {}, "more": 1}):
            self.assertRaises(AssertionError, check_schema, entry, bad)
        self.assertRaises(AssertionError, check_schema,
                          _resolve("#/components/schemas/Lease"),
                          {"ip": "a", "mac": "b", "state": "lost", "expires": 1, "relay": ""})

    def test_every_route_is_described(self):
        described = {(path, method) for path, ops in OPENAPI["paths"].items() for method in ops}
        routed = set()
        for rule in self.api.app.url_map.iter_rules():
            paths = [rule.rule]
            found = re.search(r"<any\(([^)]*)\):\w+>", rule.rule)
            if found:
                paths = [rule.rule.replace(found.group(0), name.strip())
                         for name in found.group(1).split(",")]
            for path in paths:
                path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path).replace("{cid}", "{id}")
                routed.update((path, m.lower()) for m in rule.methods
                              if m not in ("HEAD", "OPTIONS"))
        self.assertEqual(routed, described)

    def test_description_is_served(self):
        spec = self.ok("GET", "/api/v1/openapi.json")
        self.assertEqual(spec["openapi"], "3.0.3")
        self.assertEqual(set(spec["paths"]), set(OPENAPI["paths"]))

    def test_a_tour_of_every_operation_matches_the_description(self):
        """Each operation once with its success status; every response is checked."""
        EXERCISED.clear()
        host = "/api/v1/hosts/" + THIRD
        self.ok("GET", "/api/v1/hosts")
        self.ok("PUT", host, {"ip": "192.0.2.20"}, 201)
        self.ok("PUT", host, {"ip": "192.0.2.21"})
        self.ok("PATCH", host, {"hostname": "third"})
        self.ok("GET", host)
        self.ok("DELETE", host, code=204)
        self.ok("GET", "/api/v1/clients")
        self.ok("PUT", "/api/v1/clients/laptop", {"ip": "192.0.2.22"}, 201)
        self.ok("PUT", "/api/v1/clients/laptop", {"ip": "192.0.2.23"})
        self.ok("PATCH", "/api/v1/clients/laptop", {"description": "x"})
        self.ok("GET", "/api/v1/clients/laptop")
        self.ok("DELETE", "/api/v1/clients/laptop", code=204)
        self.ok("GET", "/api/v1/groups")
        self.ok("PUT", "/api/v1/groups/lab", {"dns": "192.0.2.54"}, 201)
        self.ok("PUT", "/api/v1/groups/lab", {"dns": "192.0.2.55"})
        self.ok("PATCH", "/api/v1/groups/lab", {"ntp": "192.0.2.22"})
        self.ok("GET", "/api/v1/groups/lab")
        self.ok("DELETE", "/api/v1/groups/lab", code=204)
        subnet = "/api/v1/subnets/198.51.100.0/24"
        self.ok("GET", "/api/v1/subnets")
        self.ok("PUT", subnet, {"gateway": "198.51.100.1"}, 201)
        self.ok("PUT", subnet, {"gateway": "198.51.100.254"})
        self.ok("PATCH", subnet, {"range": "198.51.100.10-198.51.100.20"})
        self.ok("GET", subnet)
        self.ok("DELETE", subnet, code=204)
        self.ok("PUT", "/api/v1/pool/192.0.2.200", code=201)
        self.ok("PUT", "/api/v1/pool/192.0.2.200")
        self.ok("GET", "/api/v1/pool")
        self.ok("DELETE", "/api/v1/pool/192.0.2.200", code=204)
        self.dora(OTHER)
        self.ok("GET", "/api/v1/leases")
        self.ok("GET", "/api/v1/leases/192.0.2.100")
        self.ok("DELETE", "/api/v1/leases/192.0.2.100", code=204)
        self.ok("GET", "/api/v1/status")
        self.ok("GET", "/api/v1/openapi.json")
        self.ok("GET", "/metrics")
        self.ok("POST", "/", {"mac": KNOWN})
        self.ok("POST", "/", {"mac": KNOWN, "op": "ping"})
        self.ok("POST", "/", {"mac": OTHER, "op": "release", "ip": "192.0.2.100"}, 204)
        wanted = {(method, path, int(code)) for path, ops in OPENAPI["paths"].items()
                  for method, op in ops.items() for code in op["responses"]
                  if code != "default"}
        self.assertEqual(wanted - EXERCISED, set())


# ---------------------------------------------------------------- inventory

class HostTests(APITestCase):
    def test_list_pages_by_key(self):
        for n in range(5):
            self.memory.hset("mac:02:00:00:00:02:%02x" % n, ip="192.0.2.%d" % (30 + n))
        page = self.ok("GET", "/api/v1/hosts?offset=2&limit=2")
        self.assertEqual((page["total"], page["offset"], page["limit"]), (6, 2, 2))
        self.assertEqual([e["id"] for e in page["items"]],
                         ["02:00:00:00:02:01", "02:00:00:00:02:02"])
        self.assertEqual(self.ok("GET", "/api/v1/hosts?offset=5")["items"][0]["id"],
                         "02:00:00:00:02:04")
        for bad in ("limit=0", "limit=1001", "offset=-1", "limit=x", "sort=ip"):
            self.error("GET", "/api/v1/hosts?" + bad)

    def test_get_normalises_the_mac_in_the_path(self):
        for form in ("02:00:00:00:01:01", "02-00-00-00-01-01", "0200.0000.0101",
                     "020000000101", "02:00:00:00:01:01".upper()):
            entry = self.ok("GET", "/api/v1/hosts/" + form)
            self.assertEqual(entry, {"key": "mac:" + KNOWN, "id": KNOWN,
                                     "fields": {"ip": "192.0.2.10", "hostname": "printer",
                                                "description": "The printer"}})
        self.error("GET", "/api/v1/hosts/02:00:00:00:01", code=400)
        self.error("GET", "/api/v1/hosts/02:00-00:00:01:01", code=400)
        self.assertEqual(self.error("GET", "/api/v1/hosts/" + OTHER, code=404)["details"],
                         ["no mac:" + OTHER])

    def test_put_creates_then_replaces_and_the_next_packet_sees_it(self):
        created = self.ok("PUT", "/api/v1/hosts/" + OTHER.upper(),
                          {"ip": "192.0.2.11", "hostname": "scanner"}, 201)
        self.assertEqual(created["key"], "mac:" + OTHER)
        self.assertEqual(self.memory.data["mac:" + OTHER], {"ip": "192.0.2.11",
                                                            "hostname": "scanner"})
        offer = self.handle(request(opt.DISCOVER, OTHER))
        self.assertEqual((offer.yiaddr, offer.get(12)), ("192.0.2.11", "scanner"))
        self.ok("PUT", "/api/v1/hosts/" + OTHER, {"ip": "192.0.2.12"})
        self.assertEqual(self.memory.data["mac:" + OTHER]["ip"], "192.0.2.12")
        self.assertNotIn("hostname", self.memory.data["mac:" + OTHER])
        self.assertEqual(self.handle(request(opt.DISCOVER, OTHER)).yiaddr, "192.0.2.12")
        self.assertIn("192.0.2.12", self.memory.reserved)

    def test_put_keeps_what_the_server_wrote(self):
        self.dora(OTHER)  # a dynamic lease: mac: has ip, dynamic, ts
        before = dict(self.memory.data["mac:" + OTHER])
        self.assertEqual(before["dynamic"], "1")
        self.assertEqual(before["description"], "dynamic:")  # the seed's mark, the server's
        entry = self.ok("PUT", "/api/v1/hosts/" + OTHER, {"hostname": "tablet"})
        del before["description"]  # a PUT replaces what an operator writes
        self.assertEqual(entry["fields"], dict(before, hostname="tablet"))
        entry = self.ok("PUT", "/api/v1/hosts/" + OTHER, {"ip": "192.0.2.13"})
        self.assertEqual(entry["fields"], {"ip": "192.0.2.13", "ts": before["ts"]})

    def test_patch_merges_and_null_removes(self):
        entry = self.ok("PATCH", "/api/v1/hosts/" + KNOWN,
                        {"hostname": "printer2", "description": None, "dns": "192.0.2.9"})
        self.assertEqual(entry["fields"], {"ip": "192.0.2.10", "hostname": "printer2",
                                           "dns": "192.0.2.9"})
        self.assertEqual(self.handle(request(opt.DISCOVER, KNOWN)).get(6), ["192.0.2.9"])
        self.error("PATCH", "/api/v1/hosts/" + OTHER, {"hostname": "x"}, 404)

    def test_patch_of_an_ip_turns_a_dynamic_lease_into_a_reservation(self):
        self.dora(OTHER)
        entry = self.ok("PATCH", "/api/v1/hosts/" + OTHER, {"ip": "192.0.2.14"})
        self.assertNotIn("dynamic", entry["fields"])
        self.assertIn("192.0.2.14", self.memory.reserved)

    def test_delete(self):
        self.ok("DELETE", "/api/v1/hosts/" + KNOWN, code=204)
        self.assertNotIn("mac:" + KNOWN, self.memory.data)
        self.assertNotIn("192.0.2.10", self.memory.reserved)
        self.error("DELETE", "/api/v1/hosts/" + KNOWN, code=404)

    def test_clients_are_hosts_by_id(self):
        self.ok("PUT", "/api/v1/clients/01020000000a0a", {"ip": "192.0.2.15", "group": "pool"},
                201)
        self.assertEqual(self.memory.data["client:01020000000a0a"]["group"], "pool")
        self.assertEqual([e["id"] for e in self.ok("GET", "/api/v1/clients")["items"]],
                         ["01020000000a0a"])
        self.error("PUT", "/api/v1/clients/has%20space", {"ip": "192.0.2.16"})


class ValidationTests(APITestCase):
    def assertRejected(self, path, body, *details, code=400, method="PUT"):
        before = json.dumps(self.memory.data, sort_keys=True)
        error = self.error(method, path, body, code)
        for detail in details:
            self.assertTrue(any(detail in d for d in error["details"]), (detail, error))
        self.assertEqual(json.dumps(self.memory.data, sort_keys=True), before)
        return error

    def test_host_fields(self):
        host = "/api/v1/hosts/" + OTHER
        self.assertRejected(host, {"ip": "192.0.2.300"}, "not an IPv4 address")
        self.assertRejected(host, {"ip": "198.51.100.7"}, "is outside 192.0.2.0/24")
        self.assertRejected(host, {"ip": "192.0.2.255"}, "broadcast address")
        self.assertRejected(host, {"ip": "192.0.2.1"}, "this server's own address")
        self.assertRejected(host, {"ip": "192.0.2.11", "lease-time": "soon"}, "bad duration")
        self.assertRejected(host, {"ip": "192.0.2.11", "dns": "192.0.2.5,nope"}, "dns:")
        self.assertRejected(host, {"ip": "192.0.2.11", "option-mtu": "big"}, "option-mtu")
        self.assertRejected(host, {"ip": "192.0.2.11", "colour": "blue"}, "unknown field")
        self.assertRejected(host, {"ip": "192.0.2.11", "group": "nosuch"},
                            "group:nosuch does not exist")
        self.assertRejected(host, {"ip": "192.0.2.11", "range": "192.0.2.5-192.0.2.6"},
                            "range: a field of groups")
        self.assertRejected(host, {"ip": 11}, "values are strings")
        self.assertRejected(host, {"ip": "192.0.2.11", "ts": "1"}, "written by the server")
        self.assertRejected(host, {}, "at least one field")
        self.assertRejected("/api/v1/hosts/" + KNOWN, {"dns": "x"}, "dns:", method="PATCH")

    def test_an_address_reserved_by_another_host_is_a_conflict(self):
        self.memory.hset("client:laptop", ip="192.0.2.17")
        error = self.assertRejected("/api/v1/hosts/" + OTHER, {"ip": "192.0.2.10"},
                                    "reserved by mac:" + KNOWN, code=409)
        self.assertEqual(error["error"], "address already reserved")
        self.assertRejected("/api/v1/hosts/" + OTHER, {"ip": "192.0.2.17"},
                            "client:laptop", code=409)
        self.ok("PUT", "/api/v1/hosts/" + KNOWN, {"ip": "192.0.2.10", "hostname": "same"})

    def test_an_address_in_a_subnet_key_is_accepted_with_that_subnet(self):
        self.memory.hset("subnet:198.51.100.0/24", gateway="198.51.100.1")
        self.ok("PUT", "/api/v1/hosts/" + OTHER, {"ip": "198.51.100.7"}, 201)

    def test_an_address_on_its_groups_network(self):
        self.memory.hset("group:far", gateway="203.0.113.1", prefix="24")
        self.ok("PUT", "/api/v1/hosts/" + OTHER, {"ip": "203.0.113.7", "group": "far"}, 201)
        self.assertRejected("/api/v1/hosts/" + THIRD, {"ip": "192.0.2.70", "group": "far"},
                            "outside 203.0.113.0/24, the network of group:far")

    def test_group_and_subnet_fields(self):
        self.assertRejected("/api/v1/groups/lab", {"range": "192.0.2.9-192.0.2.1"},
                            "runs backwards")
        self.assertRejected("/api/v1/groups/lab", {"range": "192.0.2.200-198.51.100.1"},
                            "is outside 192.0.2.0/24")
        self.assertRejected("/api/v1/groups/lab", {"broadcast": "nonsense"},
                            "broadcast 'nonsense' is not an address")
        self.assertRejected("/api/v1/groups/lab", {"prefix": "33"}, "bad netmask/prefix")
        self.assertRejected("/api/v1/groups/lab", {"routes": "10.0.0.0/8"}, "routes:")
        self.assertRejected("/api/v1/groups/lab", {"ip": "192.0.2.5"}, "a field of hosts")
        self.assertRejected("/api/v1/groups/bad%20name", {"dns": "192.0.2.5"}, "group name")
        self.assertRejected("/api/v1/subnets/198.51.100.5/24", {"dns": "192.0.2.5"},
                            "has host bits set")
        self.assertRejected("/api/v1/subnets/198.51.100.0/24",
                            {"range": "192.0.2.10-192.0.2.20"}, "is outside 198.51.100.0/24")
        self.assertRejected("/api/v1/subnets/198.51.100.0/24", {"group": "nosuch"},
                            "group:nosuch does not exist")
        self.ok("PUT", "/api/v1/groups/lab", {"gateway": "198.51.100.1", "prefix": "24",
                                              "range": "198.51.100.10-198.51.100.20"}, 201)

    def test_inherited_problems_do_not_block_other_writes(self):
        """The seed's data (a netmask in `broadcast` of group:default) is served as it is;
        only what a write adds is judged."""
        self.memory.hset("group:default", broadcast="255.255.255.0")
        self.ok("PUT", "/api/v1/groups/lab", {"dns": "192.0.2.54"}, 201)
        self.ok("PUT", "/api/v1/hosts/" + OTHER, {"ip": "192.0.2.18"}, 201)

    def test_corrected_values_are_accepted(self):
        """A value the server serves with a correction (a netmask in `broadcast`, as the seed
        wrote) is a note, not an error: the write goes through."""
        entry = self.ok("PUT", "/api/v1/groups/lab", {"gateway": "192.0.2.1",
                                                      "broadcast": "255.255.0.0"}, 201)
        self.assertEqual(entry["fields"]["broadcast"], "255.255.0.0")

    def test_server_fields_cannot_be_removed_either(self):
        self.dora(OTHER)
        self.assertRejected("/api/v1/hosts/" + OTHER, {"dynamic": None},
                            "dynamic: written by the server", method="PATCH")

    def test_group_default_cannot_be_deleted(self):
        self.assertRejected("/api/v1/groups/default", None, "change it with PUT", code=409,
                            method="DELETE")
        emptied = dict.fromkeys(self.memory.data["group:default"])
        self.assertRejected("/api/v1/groups/default", emptied, "group:default must exist",
                            code=409, method="PATCH")

    def test_a_group_in_use_cannot_be_deleted(self):
        self.memory.hset("group:lab", dns="192.0.2.54")
        self.memory.hset("subnet:198.51.100.0/24", group="lab")
        error = self.assertRejected("/api/v1/groups/lab", None,
                                    "group:lab is used by subnet:198.51.100.0/24", code=409,
                                    method="DELETE")
        self.assertEqual(error["error"], "group in use")
        self.error("DELETE", "/api/v1/groups/nosuch", code=404)

    def test_a_pool_address_a_host_reserves_is_a_conflict(self):
        error = self.assertRejected("/api/v1/pool/192.0.2.10", None,
                                    "192.0.2.10 is reserved by mac:" + KNOWN, code=409)
        self.assertEqual(error["error"], "address already reserved")

    def test_bodies_that_are_not_json_objects(self):
        host = "/api/v1/hosts/" + OTHER
        self.assertEqual(self.call("PUT", host, raw=b"ip=192.0.2.19",
                                   content_type="application/x-www-form-urlencoded").code, 415)
        self.assertEqual(self.call("PUT", host, raw=b"{nope").code, 400)
        self.assertEqual(self.call("PUT", host, body=["192.0.2.19"]).code, 400)
        self.assertNotIn("mac:" + OTHER, self.memory.data)

    def test_unknown_routes_and_methods_are_json_errors(self):
        self.assertEqual(self.error("GET", "/api/v1/nothing", code=404)["error"], "not found")
        reply = self.call("POST", "/api/v1/hosts/" + KNOWN)
        self.assertEqual(reply.code, 405)
        self.assertIn("PUT", reply.header("allow"))


class AuthTests(APITestCase):
    def test_writes_need_the_token(self):
        reply = self.call("PUT", "/api/v1/hosts/" + OTHER, {"ip": "192.0.2.11"}, token=None)
        self.assertEqual((reply.code, reply.json["error"]), (401, "authentication required"))
        self.assertTrue(reply.header("www-authenticate").startswith("Bearer"))
        reply = self.call("DELETE", "/api/v1/hosts/" + KNOWN, token="wrong")
        self.assertEqual((reply.code, reply.json["error"]), (401, "invalid token"))
        self.assertIn('error="invalid_token"', reply.header("www-authenticate"))
        self.assertEqual(self.call("PUT", "/api/v1/pool/192.0.2.9", token=TOKEN[:-1]).code, 401)
        self.assertEqual(self.call("DELETE", "/api/v1/leases/192.0.2.9", token=None).code, 401)
        self.assertEqual(self.call("PUT", "/api/v1/hosts/" + OTHER, {"ip": "192.0.2.11"},
                                   token=None, headers={"Authorization": "Basic " + TOKEN}
                                   ).code, 401)
        self.assertNotIn("mac:" + OTHER, self.memory.data)
        self.assertIn("mac:" + KNOWN, self.memory.data)

    def test_reads_need_no_token(self):
        for path in ("/api/v1/hosts", "/api/v1/hosts/" + KNOWN, "/api/v1/groups",
                     "/api/v1/leases", "/api/v1/pool", "/api/v1/status", "/metrics"):
            self.assertEqual(self.call("GET", path, token=None, source="198.51.100.9").code,
                             200, path)

    def test_legacy_query_needs_the_token_only_from_outside_loopback(self):
        body = {"mac": KNOWN}
        self.assertEqual(self.call("POST", "/", body, token=None).code, 200)
        self.assertEqual(self.call("POST", "/", body, token=None, source="198.51.100.9").code,
                         401)
        self.assertEqual(self.call("POST", "/", body, token="x", source="198.51.100.9").code,
                         401)
        self.assertEqual(self.call("POST", "/", body, source="198.51.100.9").code, 200)


class NoTokenFileTests(APITestCase):
    token = None

    def test_writes_are_refused_with_a_reason(self):
        error = self.error("PUT", "/api/v1/hosts/" + OTHER, {"ip": "192.0.2.11"}, 403)
        self.assertIn("--api-token-file", error["details"][0])
        self.assertEqual(self.call("DELETE", "/api/v1/groups/pool", token=None).code, 403)
        self.assertEqual(self.call("GET", "/api/v1/hosts", token=None).code, 200)

    def test_legacy_query_is_open(self):
        self.ok("POST", "/", {"mac": KNOWN}, token=None, source="198.51.100.9")


class PoolTests(APITestCase):
    def setUp(self):
        super().setUp()
        self.memory.data["pool"] = {"192.0.2.150": "", "192.0.2.151": OTHER,
                                    "192.0.2.149": ""}

    def test_get_lists_addresses_and_owners(self):
        self.assertEqual(self.ok("GET", "/api/v1/pool"), {
            "size": 3, "free": 2,
            "addresses": [{"address": "192.0.2.149", "owner": ""},
                          {"address": "192.0.2.150", "owner": ""},
                          {"address": "192.0.2.151", "owner": OTHER}]})

    def test_add_and_remove(self):
        self.ok("PUT", "/api/v1/pool/192.0.2.152", code=201)
        self.assertEqual(self.memory.data["pool"]["192.0.2.152"], "")
        self.assertEqual(self.ok("PUT", "/api/v1/pool/192.0.2.151"),
                         {"address": "192.0.2.151", "owner": OTHER})
        self.assertEqual(self.memory.data["pool"]["192.0.2.151"], OTHER)
        self.ok("DELETE", "/api/v1/pool/192.0.2.150", code=204)
        self.assertNotIn("192.0.2.150", self.memory.data["pool"])
        self.error("DELETE", "/api/v1/pool/192.0.2.150", code=404)
        self.error("DELETE", "/api/v1/pool/192.0.2.151", code=409)
        self.ok("DELETE", "/api/v1/pool/192.0.2.151?force=true", code=204)
        self.error("PUT", "/api/v1/pool/192.0.2.999")

    def test_a_pool_address_serves_the_next_dynamic_client(self):
        del self.memory.data["group:pool"]["range"]
        self.memory.data["pool"] = {}
        self.ok("PUT", "/api/v1/pool/192.0.2.160", code=201)
        self.assertEqual(self.handle(request(opt.DISCOVER, THIRD)).yiaddr, "192.0.2.160")


class LeaseTests(APITestCase):
    def setUp(self):
        super().setUp()
        self.dora(OTHER)                                    # 192.0.2.100 bound
        self.handle(request(opt.DISCOVER, THIRD))           # 192.0.2.101 offered

    def test_list_filter_and_page(self):
        leases = self.ok("GET", "/api/v1/leases")
        self.assertEqual([(x["ip"], x["mac"], x["state"]) for x in leases["items"]],
                         [("192.0.2.101", THIRD, "offered"), ("192.0.2.100", OTHER, "bound")])
        self.assertEqual(leases["items"][1]["expires"], 1_000_000 + 1800)
        self.assertEqual([x["ip"] for x in self.ok(
            "GET", "/api/v1/leases?state=bound")["items"]], ["192.0.2.100"])
        self.assertEqual([x["ip"] for x in self.ok(
            "GET", "/api/v1/leases?mac=" + THIRD.upper())["items"]], ["192.0.2.101"])
        self.assertEqual(self.ok("GET", "/api/v1/leases?subnet=198.51.100.0/24")["total"], 0)
        page = self.ok("GET", "/api/v1/leases?subnet=192.0.2.0/24&offset=1&limit=1")
        self.assertEqual((page["total"], [x["ip"] for x in page["items"]]),
                         (2, ["192.0.2.100"]))
        for bad in ("state=gone", "subnet=nope", "mac=zz", "limit=0", "colour=red"):
            self.error("GET", "/api/v1/leases?" + bad)

    def test_get_and_force_release(self):
        self.assertEqual(self.ok("GET", "/api/v1/leases/192.0.2.100")["mac"], OTHER)
        self.error("GET", "/api/v1/leases/192.0.2.102", code=404)
        self.error("GET", "/api/v1/leases/nope", code=400)
        self.ok("DELETE", "/api/v1/leases/192.0.2.100", code=204)
        self.assertNotIn("192.0.2.100", self.memory.lease_records)
        self.assertNotIn("ip", self.memory.data["mac:" + OTHER])
        self.error("DELETE", "/api/v1/leases/192.0.2.100", code=404)


# ---------------------------------------------------------------- status and metrics

class StatusTests(APITestCase):
    def test_status(self):
        self.dora(OTHER)
        self.memory.data["pool"] = {"192.0.2.150": "", "192.0.2.151": THIRD}
        self.memory.hset("subnet:198.51.100.0/24", range="198.51.100.10-198.51.100.19")
        status = self.ok("GET", "/api/v1/status")
        self.assertEqual((status["role"], status["server_id"], status["redis"]),
                         ("standalone", SERVER, {"ok": True, "error": None}))
        self.assertEqual(status["pools"], [
            {"name": "group:pool", "size": 3, "bound": 1, "offered": 0, "declined": 0,
             "utilisation": 0.333333},
            {"name": "subnet:198.51.100.0/24", "size": 10, "bound": 0, "offered": 0,
             "declined": 0, "utilisation": 0.0},
            {"name": "pool", "size": 2, "bound": 1, "offered": 0, "declined": 0,
             "utilisation": 0.5}])

    def test_status_says_when_the_store_is_down(self):
        self.patch(self.memory, "ping",
                   lambda: defer.fail(StoreUnavailable("no connection to Redis")))
        self.api = AdminAPI(TimedStore(self.memory), self.server, LINK, TOKEN, self.clock)
        status = self.ok("GET", "/api/v1/status")
        self.assertEqual((status["redis"], status["pools"]),
                         ({"ok": False, "error": "no connection to Redis"}, []))
        self.assertIn("apidhcpd_store_up 0", self.call("GET", "/metrics").body.decode())


class MetricsTests(APITestCase):
    def scrape(self):
        reply = self.call("GET", "/metrics", token=None)
        self.assertEqual(reply.code, 200)
        self.assertTrue(reply.header("content-type").startswith("text/plain; version=0.0.4"))
        samples = {}
        for family in text_string_to_metric_families(reply.body.decode()):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

    def test_counters_move_when_packets_are_handled(self):
        before = self.scrape()
        key = ("apidhcpd_packets_received_total", (("type", "discover"),))
        self.assertEqual(before[key], 0)
        self.dora(OTHER)
        self.handle(request(opt.REQUEST, THIRD, o50="198.51.100.7"))  # NAK
        self.handle(request(opt.RELEASE, OTHER, o54=SERVER))          # a drop
        after = self.scrape()
        self.assertEqual(after[key], 1)
        self.assertEqual(after[("apidhcpd_packets_received_total", (("type", "request"),))], 2)
        self.assertEqual(after[("apidhcpd_packets_answered_total",
                                (("reply", "ack"), ("type", "request")))], 1)
        self.assertEqual(after[("apidhcpd_packets_answered_total",
                                (("reply", "offer"), ("type", "discover")))], 1)
        self.assertEqual(after[("apidhcpd_naks_total", ())], 1)
        self.assertEqual(after[("apidhcpd_packets_dropped_total", (("type", "release"),))], 1)
        self.assertEqual(after[("apidhcpd_peer_state", (("state", "standalone"),))], 1)
        self.assertEqual(after[("apidhcpd_store_up", ())], 1)

    def test_pools_and_store_latency(self):
        self.dora(OTHER)
        self.handle(request(opt.DISCOVER, THIRD))
        samples = self.scrape()
        pool = (("pool", "group:pool"),)
        self.assertEqual(samples[("apidhcpd_pool_size", pool)], 3)
        self.assertEqual(samples[("apidhcpd_leases", pool + (("state", "bound"),))], 1)
        self.assertEqual(samples[("apidhcpd_leases", pool + (("state", "offered"),))], 1)
        self.assertAlmostEqual(samples[("apidhcpd_pool_utilisation", pool)], 2 / 3, 5)
        lookups = samples[("apidhcpd_store_call_seconds_count", (("op", "lookup"),))]
        self.assertEqual(lookups, 3)
        self.assertEqual(samples[("apidhcpd_store_call_seconds_bucket",
                                  (("le", "+Inf"), ("op", "lookup")))], lookups)

    def test_store_errors_are_counted(self):
        self.patch(self.memory, "lookup",
                   lambda *a: defer.fail(StoreUnavailable("Redis did not answer")))
        self.store = TimedStore(self.memory)
        self.server = DHCPServer(self.store, Policy(server_id=SERVER), self.clock,
                                 log_exchanges=False)
        self.api = AdminAPI(self.store, self.server, LINK, TOKEN, self.clock)
        self.assertEqual(self.error("POST", "/", {"mac": OTHER}, 503)["error"], "no answer")
        self.assertEqual(self.scrape()[("apidhcpd_store_call_errors_total",
                                        (("op", "lookup"),))], 1)


# ---------------------------------------------------------------- the legacy query

class LegacyQueryTests(APITestCase):
    def test_reserved_host_by_mac(self):
        answer = self.ok("POST", "/", {"mac": KNOWN.upper(), "client": None})
        self.assertEqual(answer, {
            "mac": KNOWN, "client": "", "hostname": "printer", "ip": "192.0.2.10",
            "gateway": "192.0.2.1", "netmask": "255.255.255.0", "broadcast": "192.0.2.255",
            "prefix": 24, "dns": "192.0.2.53", "domain": "example.test", "ntp": "",
            "leasetime": 3600, "description": "The printer", "method": "mac",
            "slave": False})

    def test_reserved_host_by_client_id_as_the_seed_did(self):
        self.memory.hset("client:kitchen-hub", ip="192.0.2.40", description="Hub",
                         ntp="192.0.2.22")
        answer = self.ok("POST", "/", {"mac": OTHER, "client": "kitchen-hub"})
        self.assertEqual((answer["ip"], answer["method"], answer["client"], answer["ntp"],
                          answer["description"]),
                         ("192.0.2.40", "client", "kitchen-hub", "192.0.2.22", "Hub"))

    def test_dynamic_client_then_request_then_release(self):
        answer = self.ok("POST", "/", {"mac": OTHER})
        self.assertEqual((answer["ip"], answer["method"], answer["leasetime"]),
                         ("192.0.2.100", "dynamic", 1800))
        self.assertEqual(self.memory.lease_records["192.0.2.100"].state, "offered")
        ack = self.ok("POST", "/", {"mac": OTHER, "op": "request", "ip": "192.0.2.100"})
        self.assertEqual(ack, answer)
        self.assertEqual(self.memory.lease_records["192.0.2.100"].state, "bound")
        nak = self.error("POST", "/", {"mac": THIRD, "op": "request", "ip": "192.0.2.100"},
                         409)
        self.assertEqual((nak["error"], nak["details"]), ("nak", ["192.0.2.100 is taken"]))
        self.ok("POST", "/", {"mac": OTHER, "op": "release", "ip": "192.0.2.100"}, 204)
        self.assertNotIn("192.0.2.100", self.memory.lease_records)

    def test_a_request_off_the_network_is_naked(self):
        nak = self.error("POST", "/", {"mac": OTHER, "op": "request", "ip": "198.51.100.7"},
                         409)
        self.assertIn("not on network 192.0.2.0/24", nak["details"][0])

    def test_no_answer_is_404_with_the_reason(self):
        for n, mac in enumerate(("02:00:00:00:03:01", "02:00:00:00:03:02",
                                 "02:00:00:00:03:03")):
            self.ok("POST", "/", {"mac": mac})
        error = self.error("POST", "/", {"mac": "02:00:00:00:03:04"}, 404)
        self.assertEqual(error["details"], ["no free address for group pool"])

    def test_bad_queries(self):
        self.error("POST", "/", {"client": "x"})
        self.error("POST", "/", {"mac": "nope"})
        self.error("POST", "/", {"mac": OTHER, "op": "renew"})
        self.error("POST", "/", {"mac": OTHER, "op": "request"})
        self.error("POST", "/", {"mac": OTHER, "client": 7})
        self.error("POST", "/", raw=b"not json", content_type="text/plain")

    def test_ping(self):
        self.assertEqual(self.ok("POST", "/", {"op": "ping"}), {"ok": True})

    def test_client_id_is_option_61(self):
        self.memory.hset("client:01020000000a0a", ip="192.0.2.41", description="by 61")
        self.memory.hset("client:kitchen-hub", ip="192.0.2.40")
        answer = self.ok("POST", "/", {"mac": OTHER, "client_id": "01020000000A0A"})
        self.assertEqual((answer["ip"], answer["method"], answer["client"],
                          answer["description"]), ("192.0.2.41", "client", "", "by 61"))
        answer = self.ok("POST", "/", {"mac": OTHER, "client": "kitchen-hub",
                                       "client_id": "01020000000a0a"})
        self.assertEqual((answer["ip"], answer["client"]), ("192.0.2.41", "kitchen-hub"))
        answer = self.ok("POST", "/", {"mac": OTHER, "client": "kitchen-hub",
                                       "client_id": "01020000000b0b"})
        self.assertEqual(answer["ip"], "192.0.2.40")
        self.assertEqual(self.ok("POST", "/", {"mac": KNOWN, "client_id": None})["ip"],
                         "192.0.2.10")

    def test_giaddr_places_the_request_on_the_relays_subnet(self):
        self.memory.hset("group:relayed", lease_time="2h")
        self.memory.hset("subnet:198.51.100.0/24", gateway="198.51.100.1", group="relayed",
                         range="198.51.100.10-198.51.100.12")
        answer = self.ok("POST", "/", {"mac": OTHER, "giaddr": "198.51.100.1"})
        self.assertEqual(
            {k: answer[k] for k in ("ip", "gateway", "netmask", "prefix", "broadcast",
                                    "leasetime", "method")},
            {"ip": "198.51.100.10", "gateway": "198.51.100.1", "netmask": "255.255.255.0",
             "prefix": 24, "broadcast": "198.51.100.255", "leasetime": 7200,
             "method": "dynamic"})
        ack = self.ok("POST", "/", {"mac": OTHER, "op": "request", "ip": "198.51.100.10",
                                    "giaddr": "198.51.100.1"})
        self.assertEqual(ack["ip"], "198.51.100.10")
        self.assertEqual(self.memory.lease_records["198.51.100.10"].state, "bound")
        nak = self.error("POST", "/", {"mac": OTHER, "op": "request", "ip": "198.51.100.10"},
                         409)  # without giaddr: the server's own network
        self.assertIn("not on network 192.0.2.0/24", nak["details"][0])
        self.assertEqual(self.ok("POST", "/", {"mac": THIRD, "giaddr": "0.0.0.0"})["ip"],
                         "192.0.2.100")

    def test_giaddr_must_be_a_trusted_relay_when_a_list_is_set(self):
        self.memory.hset("subnet:198.51.100.0/24", gateway="198.51.100.1",
                         range="198.51.100.10-198.51.100.12")
        self.server = DHCPServer(self.store, Policy(server_id=SERVER, trusted_relays=frozenset(
            {"198.51.100.1"})), self.clock, log_exchanges=False)
        self.api = AdminAPI(self.store, self.server, LINK, self.token, self.clock)
        error = self.error("POST", "/", {"mac": OTHER, "giaddr": "198.51.100.2"}, 403)
        self.assertEqual(error, {"error": "relay not trusted",
                                 "details": ["giaddr 198.51.100.2 is not one of "
                                             "--trusted-relays"]})
        self.assertEqual(self.memory.lease_records, {})
        self.assertEqual(self.ok("POST", "/", {"mac": OTHER, "giaddr": "198.51.100.1"})["ip"],
                         "198.51.100.10")

    def test_bad_extension_fields(self):
        for body in ({"client_id": "zz"}, {"client_id": "01"}, {"client_id": 7},
                     {"client_id": "0102 03"}, {"client_id": "01" * 256}, {"giaddr": "nope"},
                     {"giaddr": 7}, {"giaddr": "198.51.100.300"}):
            error = self.error("POST", "/", dict(body, mac=OTHER))
            self.assertEqual(error["error"], "bad " + list(body)[0], body)
        self.assertEqual(self.memory.lease_records, {})

    def test_counts_as_a_packet(self):
        self.ok("POST", "/", {"mac": KNOWN})
        self.assertEqual(self.server.counters[("DISCOVER", "offer")], 1)


# ---------------------------------------------------------------- start-up

class StartupTests(unittest.SynchronousTestCase):
    def parse(self, *argv):
        options = tap.Options()
        options.parseOptions(["--interface", "lo", "--ip", "192.0.2.1"] + list(argv))
        return options

    def token_file(self, text):
        fd, path = tempfile.mkstemp()
        os.write(fd, text.encode())
        os.close(fd)
        self.addCleanup(os.unlink, path)
        return path

    def test_defaults_and_values(self):
        options = self.parse()
        self.assertEqual((options["api-address"], options["api-token"]),
                         (("127.0.0.1", 8080), None))
        options = self.parse("--api-listen", "none", "--api-token-file",
                             self.token_file("  abc.def\n"))
        self.assertEqual((options["api-address"], options["api-token"]), (None, "abc.def"))
        self.assertEqual(parse_listen("[::1]:9000"), ("::1", 9000))

    def test_bad_values_fail_with_a_one_line_reason(self):
        for argv, reason in ((["--api-listen", "8080"], "bad --api-listen"),
                             (["--api-listen", "localhost:80"], "bad --api-listen"),
                             (["--api-listen", "127.0.0.1:0"], "bad --api-listen"),
                             (["--api-token-file", "/nonexistent/token"], "cannot read"),
                             (["--api-token-file", self.token_file("\n")], "must hold one"),
                             (["--api-token-file", self.token_file("a b")], "must hold one")):
            e = self.assertRaises(usage.UsageError, self.parse, *argv)
            self.assertIn(reason, str(e))
            self.assertNotIn("\n", str(e))

    def test_service_tree_has_the_api(self):
        options = self.parse("--api-listen", "127.0.0.1:18080", "--heartbeat-port", "0")
        top = tap.makeService(options, reactor=Clock())
        ports = [s.args[0] for s in top if type(s).__name__ == "TCPServer"]
        self.assertEqual(ports, [18080])
        self.assertEqual(tap.makeService(self.parse("--api-listen", "none",
                                                    "--heartbeat-port", "0"), Clock())
                         .services[-1].__class__.__name__, "DHCPService")


# ---------------------------------------------------------------- on a real redis-server

class RedisAPITests(RedisTestMixin, unittest.TestCase):
    """The same API on RedisStore, over real HTTP on loopback."""

    timeout = 30

    @defer.inlineCallbacks
    def setUp(self):
        super().setUp()
        self.redis.cli("HSET", "group:default", "gateway", "192.0.2.1", "prefix", "24",
                       "lease-time", "1h")
        self.redis.cli("HSET", "group:pool", "range", "192.0.2.100-192.0.2.102",
                       "lease-time", "30m")
        self.store = TimedStore((yield connected_store(self, self.redis)))
        server = DHCPServer(self.store, Policy(server_id=SERVER), reactor, log_exchanges=False)
        api = AdminAPI(self.store, server, LINK, TOKEN, reactor)
        self.port = reactor.listenTCP(0, Site(api.resource()), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)

    @defer.inlineCallbacks
    def call(self, method, path, body=None, token=TOKEN):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer " + token
        response = yield treq.request(
            method, "http://127.0.0.1:%d%s" % (self.port.getHost().port, path),
            data=json.dumps(body).encode() if body is not None else None, headers=headers,
            persistent=False)
        content = yield response.content()
        check_response(method, path.split("?")[0], response.code,
                       response.headers.getRawHeaders("content-type", [""])[0], content)
        return response.code, json.loads(content) if content else None

    def hget(self, key, field):
        return self.redis.cli("HGET", key, field).strip()

    @defer.inlineCallbacks
    def test_hosts_and_the_reserved_index(self):
        code, _ = yield self.call("PUT", "/api/v1/hosts/" + OTHER, {"ip": "192.0.2.11"})
        self.assertEqual(code, 201)
        self.assertEqual(self.redis.cli("SISMEMBER", "reserved", "192.0.2.11").strip(), "1")
        code, body = yield self.call("PUT", "/api/v1/hosts/" + THIRD, {"ip": "192.0.2.11"})
        self.assertEqual((code, body["error"]), (409, "address already reserved"))
        code, body = yield self.call("PATCH", "/api/v1/hosts/" + OTHER, {"ip": "192.0.2.12"})
        self.assertEqual((code, body["fields"]), (200, {"ip": "192.0.2.12"}))
        self.assertEqual(self.redis.cli("SMEMBERS", "reserved").split(), ["192.0.2.12"])
        code, body = yield self.call("GET", "/api/v1/hosts")
        self.assertEqual([e["id"] for e in body["items"]], [OTHER])
        code, _ = yield self.call("DELETE", "/api/v1/hosts/" + OTHER)
        self.assertEqual((code, self.redis.cli("EXISTS", "mac:" + OTHER).strip()), (204, "0"))

    @defer.inlineCallbacks
    def test_legacy_commit_lease_listing_and_force_release(self):
        code, answer = yield self.call("POST", "/", {"mac": OTHER})
        self.assertEqual((code, answer["ip"], answer["method"]), (200, "192.0.2.100", "dynamic"))
        code, ack = yield self.call("POST", "/", {"mac": OTHER, "op": "request",
                                                  "ip": "192.0.2.100"})
        self.assertEqual((code, self.hget("lease:192.0.2.100", "state")), (200, "bound"))
        code, leases = yield self.call("GET", "/api/v1/leases?state=bound&mac=" + OTHER)
        self.assertEqual([x["ip"] for x in leases["items"]], ["192.0.2.100"])
        code, status = yield self.call("GET", "/api/v1/status")
        self.assertEqual(status["pools"][0]["bound"], 1)
        code, _ = yield self.call("DELETE", "/api/v1/leases/192.0.2.100")
        self.assertEqual(code, 204)
        self.assertEqual(self.redis.cli("EXISTS", "lease:192.0.2.100").strip(), "0")
        self.assertEqual(self.hget("mac:" + OTHER, "ip"), "")

    @defer.inlineCallbacks
    def test_pool_hash(self):
        code, _ = yield self.call("PUT", "/api/v1/pool/192.0.2.150")
        self.assertEqual((code, self.redis.cli("HEXISTS", "pool", "192.0.2.150").strip()),
                         (201, "1"))
        code, pool = yield self.call("GET", "/api/v1/pool")
        self.assertEqual(pool, {"addresses": [{"address": "192.0.2.150", "owner": ""}],
                                "size": 1, "free": 1})
        code, _ = yield self.call("DELETE", "/api/v1/pool/192.0.2.150")
        self.assertEqual((code, self.redis.cli("EXISTS", "pool").strip()), (204, "0"))
