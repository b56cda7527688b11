"""The admin API, the legacy query and /metrics, through Klein's resource and treq's StubTreq,
on a MemoryStore shared with a DHCPServer on a Clock. Every response any test gets is checked
against the OpenAPI description (openapi-schema-validator, below); one class runs the API on a
real redis-server over loopback HTTP."""

import ipaddress
import json
import os
import re
import tempfile

import treq
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_spec
from prometheus_client.parser import text_string_to_metric_families
from referencing import Registry
from referencing.jsonschema import DRAFT4
from treq.testing import StubTreq
from twisted.internet import defer, reactor
from twisted.internet.address import IPv4Address
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.logger import LogLevel, formatEvent, globalLogPublisher
from twisted.python import usage
from twisted.trial import unittest
from twisted.web.resource import Resource
from twisted.web.server import Site

from apidhcpd import tap
from apidhcpd.admin.api import OPENAPI, AdminAPI, parse_listen
from apidhcpd.admin.metrics import TimedStore
from apidhcpd.dhcp4 import explain as explanation
from apidhcpd.dhcp4 import options as opt
from apidhcpd.dhcp4.message import Message
from apidhcpd.dhcp4.profile import Link
from apidhcpd.dhcp4.server import DHCPServer
from apidhcpd.dhcp4.transaction import Policy
from apidhcpd.store.contract import Lease, StoreUnavailable
from apidhcpd.store.memory import MemoryStore
from tests.redisserver import RedisTestMixin
from tests.stores import connected_store

SERVER = "192.0.2.1"
LINK = Link(SERVER, ipaddress.IPv4Network("192.0.2.0/24"))
TOKEN = "test-token-0123456789"
KNOWN, OTHER, THIRD = "02:00:00:00:01:01", "02:00:00:00:01:02", "02:00:00:00:01:03"
AUTH = object()  # "send the right token"
EXERCISED = set()  # (method, path template, status) of every checked response


# ---------------------------------------------------------------- the schema checker

SPEC_URI = "urn:apidhcpd:openapi.json"
SCHEMAS = Registry().with_resource(SPEC_URI, DRAFT4.create_resource(OPENAPI))


def pointer(*parts):
    """The JSON pointer ("#/paths/~1api~1v1~1hosts/get") of a place in OPENAPI."""
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def check_schema(where, value):
    """`value` must match the schema at `where` (a JSON pointer into OPENAPI, such as
    "#/components/schemas/Entry") as OpenAPI 3.0 reads it (openapi-schema-validator's
    OAS30Validator: JSON Schema with `nullable`); AssertionError on a mismatch."""
    validator = OAS30Validator({"$ref": SPEC_URI + where}, registry=SCHEMAS)
    errors = ["%s: %s" % ("".join("[%r]" % part for part in e.absolute_path) or "$", e.message)
              for e in validator.iter_errors(value)]
    assert not errors, "%s: %s" % (where, "; ".join(errors))


def _resolve(ref):
    node = OPENAPI
    for part in ref.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


TEMPLATES = [(re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(path)) + "$"), path)
             for path in OPENAPI["paths"]]


def check_response(method, path, code, content_type, body):
    """The response must be what OPENAPI says for this operation and status."""
    if method == "HEAD":  # a GET without its body
        assert body == b"", "HEAD %s: a body" % path
        return
    template = next((t for pattern, t in TEMPLATES if pattern.match(path)), None)
    operation = OPENAPI["paths"].get(template, {}).get(method.lower())
    if operation is None:  # an undescribed route or method: must be a JSON error
        check_schema("#/components/schemas/Error", json.loads(body))
        return
    status = str(code) if str(code) in operation["responses"] else "default"
    response = operation["responses"][status]
    assert ("default" not in operation["responses"] or str(code) in operation["responses"]
            or code >= 400), "%s %s: undescribed status %d" % (method, template, code)
    EXERCISED.add((method.lower(), template, code))
    if "content" not in response:
        assert body == b"", "%s %s %d: expected no body" % (method, template, code)
        return
    media = content_type.split(";")[0].strip()
    assert media in response["content"], "%s %s: content type %s" % (method, template, media)
    check_schema(pointer("paths", template, method.lower(), "responses", status, "content",
                         media, "schema"),
                 json.loads(body) if media == "application/json" else body.decode())


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
             content_type="application/json", headers=None, check=True):
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
        if check:
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

    def scrape(self):
        """{(sample name, ((label, value), ...) sorted): value} of /metrics."""
        reply = self.call("GET", "/metrics", token=None)
        self.assertEqual(reply.code, 200)
        self.assertTrue(reply.header("content-type").startswith("text/plain; version=0.0.4"))
        samples = {}
        for family in text_string_to_metric_families(reply.body.decode()):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return samples

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
    def test_the_description_is_valid_openapi(self):
        validate_spec(OPENAPI)

    def test_the_checker_rejects_what_does_not_match(self):
        entry = "#/components/schemas/Entry"
        check_schema(entry, {"key": "mac:x", "id": "x", "fields": {"ip": "192.0.2.1"}})
        for bad in ({"key": "k", "id": "x"}, {"key": 1, "id": "x", "fields": {}},
                    {"key": "k", "id": "x", "fields": {"ip": 7}},
                    {"key": "k", "id": "x", "fields": {}, "more": 1}):
            self.assertRaises(AssertionError, check_schema, entry, bad)
        self.assertRaises(AssertionError, check_schema, "#/components/schemas/Lease",
                          {"ip": "a", "mac": "b", "state": "lost", "expires": 1, "relay": ""})
        check_schema("#/components/schemas/Patch", {"ip": None})
        self.assertRaises(AssertionError, check_schema, "#/components/schemas/Fields",
                          {"ip": None})
        legacy = pointer("paths", "/", "post", "responses", "200", "content",
                         "application/json", "schema")
        check_schema(legacy, {"ok": True})
        self.assertRaises(AssertionError, check_schema, legacy, {"ok": "yes"})

    def test_the_description_agrees_with_the_code(self):
        """openapi.json is edited by hand: the limits and states it names are the code's."""
        from apidhcpd import __version__
        from apidhcpd.admin import routes_leases, web
        self.assertEqual(OPENAPI["info"]["version"], __version__)
        self.assertEqual(_resolve("#/components/schemas/Lease")["properties"]["state"]["enum"],
                         list(routes_leases.LEASE_STATES))
        limit = next(p for p in OPENAPI["paths"]["/api/v1/hosts"]["get"]["parameters"]
                     if p["name"] == "limit")
        self.assertEqual(limit["schema"]["maximum"], web.MAX_LIMIT)
        self.assertIn("default %d" % web.DEFAULT_LIMIT, limit["description"])
        offset = next(p for p in OPENAPI["paths"]["/api/v1/hosts"]["get"]["parameters"]
                      if p["name"] == "offset")
        self.assertIn("above %d keys" % web.OFFSET_KEYS, offset["description"])

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
        self.ok("GET", "/api/v1/classes")
        self.ok("PUT", "/api/v1/classes/ipxe", {"match-user-class": "iPXE"}, 201)
        self.ok("PUT", "/api/v1/classes/ipxe", {"match-user-class": "iPXE", "dns": "192.0.2.5"})
        self.ok("PATCH", "/api/v1/classes/ipxe", {"ntp": "192.0.2.22"})
        self.ok("GET", "/api/v1/classes/ipxe")
        self.ok("DELETE", "/api/v1/classes/ipxe", code=204)
        subnet = "/api/v1/subnets/198.51.100.0/24"
        self.ok("GET", "/api/v1/subnets")
        self.ok("PUT", subnet, {"gateway": "198.51.100.1"}, 201)
        self.ok("PUT", subnet, {"gateway": "198.51.100.254"})
        self.ok("PATCH", subnet, {"range": "198.51.100.10-198.51.100.20"})
        self.ok("GET", subnet)
        self.ok("DELETE", subnet, code=204)
        subnet6 = "/api/v1/subnets6/2001:db8:1::/64"
        self.ok("GET", "/api/v1/subnets6")
        self.ok("PUT", subnet6, {"dns6": "2001:db8::53"}, 201)
        self.ok("PUT", subnet6, {"dns6": "2001:db8::54"})
        self.ok("PATCH", subnet6, {"range": "2001:db8:1::100-2001:db8:1::1ff"})
        self.ok("GET", subnet6)
        duid = "/api/v1/duids/00030001020000000003"
        self.ok("GET", "/api/v1/duids")
        self.ok("PUT", duid, {"ip6": "2001:db8:1::20"}, 201)
        self.ok("PUT", duid, {"ip6": "2001:db8:1::21"})
        self.ok("PATCH", duid, {"description": "third"})
        self.ok("GET", duid)
        self.ok("DELETE", duid, code=204)
        self.ok("DELETE", subnet6, code=204)
        self.ok("PUT", "/api/v1/pool/192.0.2.200", code=201)
        self.ok("PUT", "/api/v1/pool/192.0.2.200")
        self.ok("GET", "/api/v1/pool")
        self.ok("DELETE", "/api/v1/pool/192.0.2.200", code=204)
        self.dora(OTHER)
        self.ok("GET", "/api/v1/leases")
        self.ok("GET", "/api/v1/leases/192.0.2.100")
        self.ok("DELETE", "/api/v1/leases/192.0.2.100", code=204)
        self.ok("GET", "/api/v1/status")
        self.ok("GET", "/api/v1/explain?mac=" + KNOWN)
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

    def walk(self, path, limit):
        """Every item of a cursor walk, and the pages' sizes."""
        items, sizes, cursor = [], [], "0"
        for _ in range(100):
            page = self.ok("GET", "%s?cursor=%s&limit=%d" % (path, cursor, limit))
            self.assertEqual(page["limit"], limit)
            items += page["items"]
            sizes.append(len(page["items"]))
            cursor = page["next_cursor"]
            if cursor == "0":
                return items, sizes
        self.fail("the walk did not end")

    def test_list_pages_with_a_cursor(self):
        for n in range(25):
            self.memory.hset("mac:02:00:00:00:02:%02x" % n, ip="192.0.2.%d" % (30 + n))
        items, sizes = self.walk("/api/v1/hosts", 4)
        self.assertEqual(sorted(e["key"] for e in items),
                         sorted(k for k in self.memory.data if k.startswith("mac:")))
        self.assertLessEqual(max(sizes), 8)
        self.assertEqual(self.walk("/api/v1/groups", 1)[0][0]["key"], "group:default")
        for bad in ("cursor=x", "cursor=-1", "cursor=1&offset=2"):
            self.error("GET", "/api/v1/hosts?" + bad)

    def test_offset_paging_is_refused_over_a_large_inventory(self):
        """Sorting by key needs every key: above OFFSET_KEYS keys, pages come by cursor."""
        from apidhcpd.admin import web
        self.patch(web, "OFFSET_KEYS", 20)
        for n in range(25):
            self.memory.hset("mac:02:00:00:00:02:%02x" % n, ip="192.0.2.%d" % (30 + n))
        error = self.error("GET", "/api/v1/hosts?limit=1")
        self.assertEqual(error["error"], "inventory too large for offset paging")
        self.assertIn("cursor=0", error["details"][0])
        self.assertEqual(len(self.ok("GET", "/api/v1/hosts?cursor=0&limit=30")["items"]), 26)

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


NET6 = "2001:db8:1::/64"
DUID = "000100012a0000000200000000d1"


class Subnet6Tests(APITestCase):
    """subnet6: keys and the DHCPv6 side of hosts, as the DHCPv4 routes do them."""

    def test_the_network_in_any_form_is_stored_in_rfc_5952_form(self):
        for form in ("2001:db8:1::/64", "2001:DB8:1:0::/64", "2001:0db8:0001:0:0:0:0:0/64"):
            self.memory.data.pop("subnet6:" + NET6, None)
            entry = self.ok("PUT", "/api/v1/subnets6/" + form,
                            {"range": "2001:db8:1::100-2001:db8:1::1ff"}, 201)
            self.assertEqual((entry["key"], entry["id"]), ("subnet6:" + NET6, NET6))
        self.assertEqual(self.memory.subnets6, {NET6})  # the index the lookup reads by
        self.assertEqual(self.ok("GET", "/api/v1/subnets6/2001:DB8:1::/64")["fields"],
                         {"range": "2001:db8:1::100-2001:db8:1::1ff"})
        self.assertEqual([e["id"] for e in self.ok("GET", "/api/v1/subnets6")["items"]], [NET6])
        self.assertEqual(self.ok("GET", "/api/v1/subnets")["items"], [])
        self.ok("PATCH", "/api/v1/subnets6/" + NET6, {"pd-pool": "2001:db8:100::/40 56",
                                                      "range": None})
        self.assertEqual(self.memory.data["subnet6:" + NET6], {"pd-pool": "2001:db8:100::/40 56"})
        self.ok("DELETE", "/api/v1/subnets6/" + NET6, code=204)
        self.assertEqual(self.memory.subnets6, set())
        self.error("GET", "/api/v1/subnets6/" + NET6, code=404)
        self.assertEqual(self.error("GET", "/api/v1/subnets6/2001:db8:1::1/64")["details"], [
            "bad subnet6 '2001:db8:1::1/64': '2001:db8:1::1/64' has bits set after its length"])
        self.error("GET", "/api/v1/subnets6/198.51.100.0/24")

    def test_a_subnet6_write_is_validated_and_a_rejected_one_changes_nothing(self):
        path = "/api/v1/subnets6/" + NET6
        for body, detail in (
                ({"range": "2001:db8:2::1-2001:db8:2::9"}, "is outside 2001:db8:1::/64"),
                ({"pd-pool": "2001:db8:1::/56 64"}, "overlaps 2001:db8:1::/64"),
                ({"dns6": "192.0.2.53"}, "dns6: "), ({"t1": "soon"}, "t1: bad duration"),
                ({"rapid-commit": "perhaps"}, "is not yes or no"),
                ({"group": "nosuch"}, "group:nosuch does not exist"),
                ({"gateway": "192.0.2.1"}, "not a field of subnet6: keys"),
                ({"option6-client-id": "0001"}, "the server's to write")):
            error = self.error("PUT", path, body)
            self.assertTrue(any(detail in d for d in error["details"]), (detail, error))
        self.assertNotIn("subnet6:" + NET6, self.memory.data)

    def test_hosts_reserve_an_address_and_a_prefix_and_duids_are_hosts(self):
        self.ok("PUT", "/api/v1/subnets6/" + NET6, {"range": "2001:db8:1::100-2001:db8:1::1ff"},
                201)
        entry = self.ok("PATCH", "/api/v1/hosts/" + KNOWN, {"ip6": "2001:db8:1::10",
                                                            "prefix6": "2001:db8:100::/56"})
        self.assertEqual(entry["fields"]["ip6"], "2001:db8:1::10")
        self.assertEqual(self.memory.reserved6, {"2001:db8:1::10", "2001:db8:100::/56"})
        error = self.error("PUT", "/api/v1/duids/" + DUID, {"ip6": "2001:DB8:1::10"}, 409)
        self.assertEqual((error["error"], error["details"]), ("address already reserved", [
            "ip6 2001:db8:1::10 is already reserved by mac:" + KNOWN]))
        self.assertEqual(self.error("PUT", "/api/v1/duids/" + DUID,
                                    {"ip6": "2001:db8:2::10"})["details"],
                         ["ip6 2001:db8:2::10 is in no subnet6: key"])
        entry = self.ok("PUT", "/api/v1/duids/" + ":".join(
            DUID[i:i + 2] for i in range(0, len(DUID), 2)).upper(), {"ip6": "2001:db8:1::11"},
            201)
        self.assertEqual(entry["key"], "duid:" + DUID)
        self.assertEqual([e["id"] for e in self.ok("GET", "/api/v1/duids")["items"]], [DUID])
        self.assertEqual(self.error("PUT", "/api/v1/duids/" + DUID, {"ip": "192.0.2.5"})[
            "details"], ["ip: a duid: key serves DHCPv6 only (DHCPv4 never reads it): write ip "
                         "on the host's mac: or client: key"])
        self.error("GET", "/api/v1/duids/0001", code=400)
        self.ok("DELETE", "/api/v1/duids/" + DUID, code=204)
        self.assertEqual(self.memory.reserved6, {"2001:db8:1::10", "2001:db8:100::/56"})

    def test_a_group_a_subnet6_uses_cannot_be_deleted(self):
        self.memory.hset("group:v6", dns6="2001:db8::53")
        self.ok("PUT", "/api/v1/subnets6/" + NET6, {"group": "v6"}, 201)
        self.assertEqual(self.error("DELETE", "/api/v1/groups/v6", code=409)["details"],
                         ["group:v6 is used by subnet6:" + NET6])

    def test_a_put_keeps_the_ts_the_server_wrote_on_a_duid_host(self):
        self.memory.hset("duid:" + DUID, description="x", ts="123")
        entry = self.ok("PUT", "/api/v1/duids/" + DUID, {"description": "y"})
        self.assertEqual(entry["fields"], {"description": "y", "ts": "123"})


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
        self.assertRejected("/api/v1/groups/lab", {"vivso": "3561:1=a; 3561=b"},
                            "vivso: '3561=b': write <enterprise>:<code>=<value>")
        self.ok("PUT", "/api/v1/groups/acs", {"vivso": "3561:1=http://acs.example.test/"}, 201)
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

    def test_class_fields(self):
        path = "/api/v1/classes/uefi"
        self.assertRejected(path, {"match-arch": "7,x"}, "'x' is not an architecture number")
        self.assertRejected(path, {"match-arch": "70000"}, "not an architecture number")
        self.assertRejected(path, {"match-client-id": "01zz"},
                            "match-client-id: '01zz' is not hex")
        self.assertRejected(path, {"match-mac": "b8:27:ebx"}, "is not a MAC prefix")
        self.assertRejected(path, {"match-arch": "7", "priority": "high"},
                            "priority: 'high' is not an integer")
        self.assertRejected(path, {"dns": "192.0.2.53"}, "at least one match field")
        self.assertRejected(path, {"match-arch": "7", "range": "192.0.2.9-192.0.2.6"},
                            "range:")
        self.assertRejected(path, {"match-arch": "7", "lease-time": "soon"}, "bad duration")
        self.assertRejected(path, {"match-arch": "7", "ip": "192.0.2.5"}, "a field of hosts")
        self.assertRejected(path, {"match-arch": "7", "dns": "nonsense"}, "dns:")
        self.assertRejected(path, {"match-arch": "7", "routes": "10.0.0.0/8"}, "routes:")
        self.assertRejected("/api/v1/classes/bad%20name", {"match-arch": "7"}, "class name")
        entry = self.ok("PUT", path, {"match-arch": "7,9", "match-mac": "B8-27-EB",
                                      "priority": "2", "dns": "192.0.2.53",
                                      "range": "192.0.2.5-192.0.2.6", "lease-time": "1h"}, 201)
        self.assertEqual(entry["key"], "class:uefi")
        self.assertEqual(self.memory.data["class:uefi"]["match-arch"], "7,9")
        self.assertRejected(path, {"match-arch": None, "match-mac": None},
                            "at least one match field", method="PATCH")
        self.assertEqual(self.ok("GET", "/api/v1/classes")["items"][0]["key"], "class:uefi")
        self.ok("DELETE", path, code=204)
        self.error("DELETE", path, code=404)
        self.error("GET", path, code=404)

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


class ExplainTests(APITestCase):
    """GET /api/v1/explain: read-only, open like every read; bad values are 400s."""

    def test_a_reserved_host_without_a_token(self):
        self.memory.hset("class:ipxe", match_user_class="iPXE", ntp="192.0.2.123")
        found = self.ok("GET", "/api/v1/explain?mac=%s&user-class=iPXE&arch=7,9&hostname=p"
                        % KNOWN.upper(), token=None)
        self.assertEqual((found["host"], found["group"], found["classes"], found["subnet"]),
                         ("mac:" + KNOWN, "default", ["ipxe"], None))
        self.assertEqual(found["host_keys"], ["client:p", "mac:" + KNOWN])
        sources = {f["field"]: f["source"] for f in found["fields"]}
        self.assertEqual((sources["dns"], sources["ntp"], sources["hostname"]),
                         ("group:default", "class:ipxe", "mac:" + KNOWN))
        self.assertIn({"code": 42, "name": "ntp-servers", "value": "192.0.2.123",
                       "source": "class:ipxe"}, found["options"])
        self.assertEqual(found["address"], {"kind": "reserved", "ip": "192.0.2.10",
                                            "key": "mac:" + KNOWN})
        self.assertEqual((found["dropped"], found["drop_kind"]), (None, None))

    def test_a_pxe_client_and_a_reservation_another_client_holds(self):
        self.memory.hset("group:default", boot_file="undionly.kpxe")
        found = self.ok("GET", "/api/v1/explain?mac=%s&vendor-class=PXEClient:Arch:00000"
                        % KNOWN)
        self.assertIn({"code": 60, "name": "vendor-class-identifier", "value": "PXEClient",
                       "source": explanation.ECHO}, found["options"])
        self.assertIn({"code": 43, "name": "vendor-specific", "value": "060108ff",
                       "source": explanation.PXE_DEFAULT}, found["options"])
        ack = self.dora(OTHER)  # a lease, then a reservation of its address for KNOWN
        self.memory.hset("mac:" + KNOWN, ip=ack.yiaddr)
        found = self.ok("GET", "/api/v1/explain?mac=" + KNOWN)
        self.assertEqual((found["address"]["ip"], found["drop_kind"], found["dropped"]),
                         (ack.yiaddr, "reserved-conflict",
                          "reserved %s is leased to %s" % (ack.yiaddr, OTHER)))

    def test_an_unknown_client_and_a_lease(self):
        found = self.ok("GET", "/api/v1/explain?mac=" + OTHER)
        self.assertEqual(found["address"], {"kind": "free", "source": "pool",
                                            "ranges": ["192.0.2.100-192.0.2.102"],
                                            "seed_pool": True})
        ack = self.dora(OTHER)
        found = self.ok("GET", "/api/v1/explain?mac=" + OTHER)
        self.assertEqual(found["address"]["kind"], "lease")
        self.assertEqual(found["address"]["ip"], ack.yiaddr)

    def test_it_writes_nothing(self):
        self.dora(OTHER)
        before = (json.dumps(self.memory.data, sort_keys=True), dict(self.memory.lease_records),
                  set(self.memory.reserved))
        for mac in (KNOWN, OTHER, THIRD):
            self.ok("GET", "/api/v1/explain?mac=%s&giaddr=198.51.100.1&circuit-id=a" % mac)
            self.ok("GET", "/api/v1/explain?mac=" + mac)
        after = (json.dumps(self.memory.data, sort_keys=True), dict(self.memory.lease_records),
                 set(self.memory.reserved))
        self.assertEqual(after, before)

    def test_bad_values_are_400(self):
        for query, error in (("", "bad mac"), ("mac=nope", "bad MAC address"),
                             ("mac=%s&arch=x" % KNOWN, "bad arch"),
                             ("mac=%s&arch=70000" % KNOWN, "bad arch"),
                             ("mac=%s&client-id=zz" % KNOWN, "bad client-id"),
                             ("mac=%s&client-id=abc" % KNOWN, "bad client-id"),
                             ("mac=%s&giaddr=nope" % KNOWN, "bad giaddr"),
                             ("mac=%s&circuit-id=a" % KNOWN, "bad circuit-id"),
                             ("mac=%s&hostname=%s" % (KNOWN, "x" * 256), "bad hostname"),
                             ("mac=%s&color=red" % KNOWN, "unknown query parameter")):
            body = self.error("GET", "/api/v1/explain?" + query)
            self.assertEqual(body["error"], error, query)


class AuthTests(APITestCase):
    def test_writes_need_the_token(self):
        reply = self.call("PUT", "/api/v1/hosts/" + OTHER, {"ip": "192.0.2.11"}, token=None)
        self.assertEqual((reply.code, reply.json["error"]), (401, "authentication required"))
        self.assertTrue(reply.header("www-authenticate").startswith("Bearer"))
        reply = self.call("DELETE", "/api/v1/hosts/" + KNOWN, token="wrong")
        self.assertEqual((reply.code, reply.json["error"]), (401, "invalid token"))
        self.assertIn('error="invalid_token"', reply.header("www-authenticate"))
        self.assertEqual(self.call("PUT", "/api/v1/pool/192.0.2.9", token=TOKEN[:-1]).code, 401)
        self.assertEqual(self.call("DELETE", "/api/v1/classes/x", token=None).code, 401)
        self.assertEqual(self.call("DELETE", "/api/v1/leases/192.0.2.9", token=None).code, 401)
        self.assertEqual(self.call("PUT", "/api/v1/hosts/" + OTHER, {"ip": "192.0.2.11"},
                                   token=None, headers={"Authorization": "Basic " + TOKEN}
                                   ).code, 401)
        self.assertNotIn("mac:" + OTHER, self.memory.data)
        self.assertIn("mac:" + KNOWN, self.memory.data)

    def test_reads_need_no_token(self):
        for path in ("/api/v1/hosts", "/api/v1/hosts/" + KNOWN, "/api/v1/groups",
                     "/api/v1/classes",
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
        self.assertEqual(self.call("PUT", "/api/v1/classes/x", {"match-arch": "7"},
                                   token=None).code, 403)
        self.assertEqual(self.call("GET", "/api/v1/hosts", token=None).code, 200)

    def test_legacy_query_is_loopback_only(self):
        """Without a token nothing tells a remote caller from anyone on the network."""
        self.ok("POST", "/", {"mac": KNOWN}, token=None)
        error = self.error("POST", "/", {"mac": KNOWN}, 403, token=None, source="198.51.100.9")
        self.assertEqual(error["error"], "the legacy query is loopback-only")
        self.error("POST", "/", {"mac": KNOWN}, 403, token=None,
                   headers={"X-Forwarded-For": "198.51.100.9"})


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

    def test_pages_with_a_cursor(self):
        seen, cursor = [], "0"
        for _ in range(10):
            page = self.ok("GET", "/api/v1/pool?limit=2&cursor=" + cursor)
            self.assertEqual(page["size"], 3)
            seen += page["addresses"]
            cursor = page["next_cursor"]
            if cursor == "0":
                break
        self.assertEqual(sorted(a["address"] for a in seen),
                         ["192.0.2.149", "192.0.2.150", "192.0.2.151"])
        from apidhcpd.admin import web
        self.patch(web, "OFFSET_KEYS", 2)
        self.assertIn("cursor=0", self.error("GET", "/api/v1/pool")["details"][0])

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

    def test_list_with_a_cursor(self):
        first = self.ok("GET", "/api/v1/leases?cursor=0&limit=1")
        self.assertEqual([x["ip"] for x in first["items"]], ["192.0.2.101"])
        second = self.ok("GET", "/api/v1/leases?limit=1&cursor=" + first["next_cursor"])
        self.assertEqual([x["ip"] for x in second["items"]], ["192.0.2.100"])
        self.assertEqual(self.ok("GET", "/api/v1/leases?limit=1&cursor="
                                 + second["next_cursor"]), {"items": [], "limit": 1,
                                                            "next_cursor": "0"})
        bound = self.ok("GET", "/api/v1/leases?cursor=0&state=bound")
        self.assertEqual(([x["ip"] for x in bound["items"]], bound["next_cursor"]),
                         (["192.0.2.100"], "0"))

    def test_filtered_offset_paging_is_refused_over_many_leases(self):
        from apidhcpd.admin import web
        self.patch(web, "OFFSET_KEYS", 1)
        self.assertEqual(self.ok("GET", "/api/v1/leases?limit=1")["total"], 2)
        error = self.error("GET", "/api/v1/leases?state=bound")
        self.assertIn("cursor=0", error["details"][0])

    def test_each_lease_says_its_family(self):
        self.assertEqual({x["family"] for x in self.ok("GET", "/api/v1/leases")["items"]}, {4})
        self.assertEqual(self.ok("GET", "/api/v1/leases/192.0.2.100")["family"], 4)

    def test_get_and_force_release(self):
        self.assertEqual(self.ok("GET", "/api/v1/leases/192.0.2.100")["mac"], OTHER)
        self.error("GET", "/api/v1/leases/192.0.2.102", code=404)
        self.error("GET", "/api/v1/leases/nope", code=400)
        self.ok("DELETE", "/api/v1/leases/192.0.2.100", code=204)
        self.assertNotIn("192.0.2.100", self.memory.lease_records)
        self.assertNotIn("ip", self.memory.data["mac:" + OTHER])
        self.error("DELETE", "/api/v1/leases/192.0.2.100", code=404)


class Lease6Tests(APITestCase):
    """The listing holds both families: the DHCPv4 leases in expiry order, then the DHCPv6
    ones in theirs (`family` says which; ?family= picks one)."""

    def setUp(self):
        super().setUp()
        from apidhcpd.inventory.allocation6 import NA, PD, source6
        from apidhcpd.store.contract6 import IAKey
        self.dora(OTHER)                                    # 192.0.2.100 bound
        self.handle(request(opt.DISCOVER, THIRD))           # 192.0.2.101 offered
        fields = {"range": "2001:db8:1::100-2001:db8:1::1ff", "pd-pool": "2001:db8:100::/48 56"}
        now = 1_000_000
        self.memory.commit6(IAKey(DUID, 1), "2001:db8:1::100", source6(NET6, fields, NA), 7200,
                            now, mac=OTHER)
        self.memory.offer6(IAKey("00030001020000000002", 5, PD), source6(NET6, fields, PD), [],
                           now, 60)

    def test_both_families_by_default(self):
        page = self.ok("GET", "/api/v1/leases")
        self.assertEqual(page["total"], 4)
        self.assertEqual([(x["family"], x["ip"], x["state"]) for x in page["items"]],
                         [(4, "192.0.2.101", "offered"), (4, "192.0.2.100", "bound"),
                          (6, "2001:db8:100::/56", "offered"), (6, "2001:db8:1::100", "bound")])
        self.assertEqual(page["items"][3], {
            "family": 6, "ip": "2001:db8:1::100", "kind": "na", "duid": DUID, "iaid": 1,
            "mac": OTHER, "state": "bound", "expires": 1_000_000 + 7200, "pool": NET6})
        self.assertEqual(page["items"][2]["kind"], "pd")

    def test_offset_pages_run_on_into_the_dhcpv6_leases(self):
        page = self.ok("GET", "/api/v1/leases?offset=1&limit=2")
        self.assertEqual(([x["ip"] for x in page["items"]], page["total"]),
                         (["192.0.2.100", "2001:db8:100::/56"], 4))
        page = self.ok("GET", "/api/v1/leases?offset=3&limit=2")
        self.assertEqual([x["ip"] for x in page["items"]], ["2001:db8:1::100"])
        page = self.ok("GET", "/api/v1/leases?family=6&offset=1")
        self.assertEqual(([x["ip"] for x in page["items"]], page["total"]),
                         (["2001:db8:1::100"], 2))
        page = self.ok("GET", "/api/v1/leases?family=4")
        self.assertEqual(([x["family"] for x in page["items"]], page["total"]), ([4, 4], 2))

    def test_filters(self):
        def ips(query):
            return [x["ip"] for x in self.ok("GET", "/api/v1/leases?" + query)["items"]]

        self.assertEqual(ips("mac=" + OTHER), ["192.0.2.100", "2001:db8:1::100"])
        self.assertEqual(ips("state=offered"), ["192.0.2.101", "2001:db8:100::/56"])
        self.assertEqual(ips("subnet=2001:db8:1::/64"), ["2001:db8:1::100"])
        self.assertEqual(ips("subnet=2001:db8:100::/40"), ["2001:db8:100::/56"])
        self.assertEqual(ips("subnet=2001:db8:100::/60"), [])  # a /56 is not inside a /60
        self.assertEqual(ips("subnet=192.0.2.0/24&family=6"), [])
        self.assertEqual(ips("duid=" + DUID.upper()), ["2001:db8:1::100"])
        self.assertEqual(ips("family=6&state=bound&cursor=0"), ["2001:db8:1::100"])
        for bad in ("family=5", "family=", "duid=0001", "subnet=2001:db8::1::/64"):
            self.error("GET", "/api/v1/leases?" + bad)

    def test_a_cursor_walks_both_families(self):
        items, cursor = [], "0"
        for _ in range(10):
            page = self.ok("GET", "/api/v1/leases?limit=1&cursor=" + cursor)
            items += [(x["family"], x["ip"]) for x in page["items"]]
            cursor = page["next_cursor"]
            if cursor == "0":
                break
        self.assertEqual(items, [(4, "192.0.2.101"), (4, "192.0.2.100"),
                                 (6, "2001:db8:100::/56"), (6, "2001:db8:1::100")])
        page = self.ok("GET", "/api/v1/leases?limit=10&cursor=0")
        self.assertEqual((len(page["items"]), page["next_cursor"]), (4, "0"))
        page = self.ok("GET", "/api/v1/leases?family=6&limit=1&cursor=0")
        self.assertEqual([x["ip"] for x in page["items"]], ["2001:db8:100::/56"])


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

    def test_dhcpv6_pools_count_whatever_their_size(self):
        """A subnet6's address range and its prefix pool are pools of their own: a /64 range
        has 2^64 addresses (its size exact in JSON, a float in /metrics), and a lease in it is
        a utilisation of 5.4e-20, not 0."""
        from apidhcpd.inventory.allocation6 import NA, PD, source6
        from apidhcpd.store.contract6 import IAKey
        fields = {"range": "2001:db8:1::-2001:db8:1::ffff:ffff:ffff:ffff",
                  "pd-pool": "2001:db8:100::/48 56, 2001:db8:200::/48 56"}
        self.memory.put("subnet6:" + NET6, fields)
        now = 1_000_000
        self.memory.commit6(IAKey(DUID, 1), "2001:db8:1::100", source6(NET6, fields, NA), 60,
                            now)
        for n in range(3):
            self.memory.offer6(IAKey(DUID, n, PD), source6(NET6, fields, PD), [], now, 60)
        pools = self.ok("GET", "/api/v1/status")["pools"]
        self.assertEqual(pools[-2:], [
            {"name": "subnet6:" + NET6, "size": 2 ** 64, "bound": 1, "offered": 0,
             "declined": 0, "utilisation": 5.42101e-20},
            {"name": "subnet6:%s#pd" % NET6, "size": 512, "bound": 0, "offered": 3,
             "declined": 0, "utilisation": 0.00585938}])
        samples = self.scrape()
        pool = (("pool", "subnet6:" + NET6),)
        self.assertEqual(samples[("apidhcpd_pool_size", pool)], 2.0 ** 64)
        self.assertEqual(samples[("apidhcpd_pool_utilisation", pool)], 5.42101e-20)
        self.assertEqual(samples[("apidhcpd_leases", (("pool", "subnet6:%s#pd" % NET6),
                                                      ("state", "offered")))], 3)
        self.assertEqual(samples[("apidhcpd_store_call_seconds_count",
                                  (("op", "pool6_tally"),))], 1)

    def test_status_says_when_the_store_is_down(self):
        self.patch(self.memory, "ping",
                   lambda: defer.fail(StoreUnavailable("no connection to Redis")))
        self.api = AdminAPI(TimedStore(self.memory), self.server, LINK, TOKEN, self.clock)
        status = self.ok("GET", "/api/v1/status")
        self.assertEqual((status["redis"], status["pools"]),
                         ({"ok": False, "error": "no connection to Redis"}, []))
        self.assertIn("apidhcpd_store_up 0", self.call("GET", "/metrics").body.decode())


class MetricsTests(APITestCase):
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

    def test_dhcpv6_messages_are_counted_by_type_reply_and_reason(self):
        """The DHCPv6 servers' counters (one Counters for every interface, as tap.py shares
        it) and their protocols' malformed datagrams, in families of their own."""
        from apidhcpd.dhcp6.options import MessageType as T
        from apidhcpd.dhcp6.protocol import DHCP6Protocol
        from apidhcpd.dhcp6.server import DHCP6Server
        from tests.dhcp6util import LINK as LINK6
        from tests.dhcp6util import OTHER_SERVER, POLICY, message, na
        server6 = DHCP6Server(self.store, POLICY, self.clock, log_exchanges=False)
        protocol6 = DHCP6Protocol(server6, LINK6)
        self.api = AdminAPI(self.store, self.server, LINK, TOKEN, self.clock,
                            counters6=server6.counters, protocol6=protocol6)
        before = self.scrape()
        solicit = ("apidhcpd_dhcp6_packets_received_total", (("type", "solicit"),))
        self.assertEqual(before[solicit], 0)
        self.memory.put("subnet6:" + NET6, {"range": "2001:db8:1::100-2001:db8:1::1ff"})
        for packet in (message(T.SOLICIT, na(1)), message(T.INFORMATION_REQUEST),
                       message(T.REQUEST, na(1), server=OTHER_SERVER)):
            server6.handle(packet, LINK6)
            self.clock.advance(0)
        protocol6.received(b"\x01\x00", ("2001:db8:1::9", 546, 0, 2), "ff02::1:2")
        after = self.scrape()
        self.assertEqual(after[solicit], 1)
        self.assertEqual(after[("apidhcpd_dhcp6_packets_answered_total",
                                (("reply", "advertise"), ("type", "solicit")))], 1)
        self.assertEqual(after[("apidhcpd_dhcp6_packets_answered_total",
                                (("reply", "reply"), ("type", "information-request")))], 1)
        self.assertEqual(after[("apidhcpd_dhcp6_packets_dropped_total",
                                (("type", "request"),))], 1)
        for reason in ("other-server", "malformed"):
            self.assertEqual(after[("apidhcpd_dhcp6_packets_dropped_by_reason_total",
                                    (("reason", reason),))], 1)
        self.assertEqual(after[("apidhcpd_packets_received_total", (("type", "discover"),))],
                         0)  # DHCPv4's families count DHCPv4 only

    def test_each_api_has_a_registry_of_its_own(self):
        """Two APIs in one process (the tests, or several servers) each count their own
        server's packets; nothing goes to prometheus_client's global registry."""
        from prometheus_client import REGISTRY
        other = AdminAPI(self.store, DHCPServer(self.store, Policy(server_id=SERVER), self.clock,
                                                log_exchanges=False), LINK, TOKEN, self.clock)
        self.dora(OTHER)
        discovers = ("apidhcpd_packets_received_total", (("type", "discover"),))
        self.assertEqual(self.scrape()[discovers], 1)
        self.api = other
        self.assertEqual(self.scrape()[discovers], 0)
        self.assertEqual([m.name for m in REGISTRY.collect() if m.name.startswith("apidhcpd")],
                         [])

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

# The seed's dhcpResponse struct (cmd/dhcp-api/main.go, decoded by cmd/dhcp-daemon/main.go
# into the same struct): encoding/json fails the whole decode on a value of another JSON type.
SEED_TYPES = {"mac": str, "client": str, "hostname": str, "ip": str, "gateway": str,
              "netmask": str, "broadcast": str, "prefix": str, "dns": str, "domain": str,
              "ntp": str, "leasetime": int, "description": str, "method": str, "slave": bool}


def go_decode(testcase, answer):
    """Decode `answer` as the seed's Go struct would, strictly: every field of the struct
    present with its JSON type (a time.Duration is an int64 of nanoseconds)."""
    for name, kind in SEED_TYPES.items():
        testcase.assertIn(name, answer)
        value = answer[name]
        testcase.assertIs(type(value), kind, "%s: %r is not a Go %s" % (name, value, kind))
    testcase.assertLess(abs(answer["leasetime"]), 2 ** 63)
    return answer


class LegacyQueryTests(APITestCase):
    def test_reserved_host_by_mac_in_the_seeds_types(self):
        answer = go_decode(self, self.ok("POST", "/", {"mac": KNOWN.upper(), "client": None}))
        self.assertEqual(answer, {
            "mac": KNOWN, "client": "", "hostname": "printer", "ip": "192.0.2.10",
            "gateway": "192.0.2.1", "netmask": "255.255.255.0", "broadcast": "192.0.2.255",
            "prefix": "24", "dns": "192.0.2.53", "domain": "example.test", "ntp": "",
            "leasetime": 3600_000_000_000, "description": "The printer",
            "method": "ByHardwareAddress", "slave": False})

    def test_our_own_form_keeps_numbers_and_our_method_names(self):
        answer = self.ok("POST", "/", {"op": "discover", "mac": KNOWN})
        self.assertEqual((answer["prefix"], answer["leasetime"], answer["method"]),
                         (24, 3600, "mac"))

    def test_reserved_host_by_client_id_as_the_seed_did(self):
        self.memory.hset("client:kitchen-hub", ip="192.0.2.40", description="Hub",
                         ntp="192.0.2.22")
        answer = go_decode(self, self.ok("POST", "/", {"mac": OTHER, "client": "kitchen-hub"}))
        self.assertEqual((answer["ip"], answer["method"], answer["client"], answer["ntp"],
                          answer["description"]),
                         ("192.0.2.40", "ByClientID", "kitchen-hub", "192.0.2.22", "Hub"))

    def test_a_dynamic_client_of_the_seeds_query_is_committed_at_once(self):
        answer = go_decode(self, self.ok("POST", "/", {"mac": OTHER, "client": "tablet"}))
        self.assertEqual((answer["ip"], answer["method"], answer["leasetime"]),
                         ("192.0.2.100", "Dynamic", 1800 * 10 ** 9))
        lease = self.memory.lease_records["192.0.2.100"]
        self.assertEqual((lease.mac, lease.state), (OTHER, "bound"))
        record = self.memory.data["mac:" + OTHER]
        self.assertEqual((record["ip"], record["dynamic"], record["description"]),
                         ("192.0.2.100", "1", "dynamic:tablet"))
        # the seed's daemon asks again at the client's REQUEST and at every renewal
        self.assertEqual(self.ok("POST", "/", {"mac": OTHER, "client": "tablet"})["ip"],
                         "192.0.2.100")
        # nobody else is given it, by the seed's query or by DHCP
        self.assertNotEqual(self.ok("POST", "/", {"mac": THIRD})["ip"], "192.0.2.100")
        offer = self.handle(request(opt.DISCOVER, "02:00:00:00:03:09"))
        self.assertNotEqual(offer.yiaddr, "192.0.2.100")

    def test_dynamic_client_then_request_then_release(self):
        answer = self.ok("POST", "/", {"op": "discover", "mac": OTHER})
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
        for mac in ("02:00:00:00:03:01", "02:00:00:00:03:02", "02:00:00:00:03:03"):
            self.ok("POST", "/", {"mac": mac})
        error = self.error("POST", "/", {"mac": "02:00:00:00:03:04"}, 404)
        self.assertEqual(error["details"], ["no free address for group pool"])

    def test_bad_queries(self):
        self.error("POST", "/", {"client": "x"})
        self.error("POST", "/", {"mac": "nope"})
        self.error("POST", "/", {"mac": OTHER, "op": "renew"})
        self.error("POST", "/", {"mac": OTHER, "op": "request"})
        self.error("POST", "/", {"mac": OTHER, "client": 7})
        self.error("POST", "/", raw=b"not json", content_type="text/plain", code=415)
        self.error("POST", "/", raw=b"not json")

    def test_ping(self):
        self.assertEqual(self.ok("POST", "/", {"op": "ping"}), {"ok": True})

    def test_client_id_is_option_61(self):
        self.memory.hset("client:01020000000a0a", ip="192.0.2.41", description="by 61")
        self.memory.hset("client:kitchen-hub", ip="192.0.2.40")
        answer = self.ok("POST", "/", {"op": "discover", "mac": OTHER,
                                       "client_id": "01020000000A0A"})
        self.assertEqual((answer["ip"], answer["method"], answer["client"],
                          answer["description"]), ("192.0.2.41", "client", "", "by 61"))
        answer = self.ok("POST", "/", {"op": "discover", "mac": OTHER, "client": "kitchen-hub",
                                       "client_id": "01020000000a0a"})
        self.assertEqual((answer["ip"], answer["client"]), ("192.0.2.41", "kitchen-hub"))
        answer = self.ok("POST", "/", {"op": "discover", "mac": OTHER, "client": "kitchen-hub",
                                       "client_id": "01020000000b0b"})
        self.assertEqual(answer["ip"], "192.0.2.40")
        answer = self.ok("POST", "/", {"op": "discover", "mac": KNOWN, "client_id": None})
        self.assertEqual(answer["ip"], "192.0.2.10")

    def test_client_classes_apply_to_the_query_as_to_a_packet(self):
        self.memory.hset("class:uefi", **{"match-arch": "7", "match-vendor-class": "PXE*",
                                          "ntp": "192.0.2.123"})
        self.memory.hset("class:rpi", **{"match-mac": OTHER[:8], "dns": "192.0.2.153",
                                         "priority": "-1"})
        query = {"mac": OTHER, "vendor_class": "PXEClient:Arch:00007", "arch": [7]}
        answer = self.ok("POST", "/", query)  # the seed's form: DISCOVER, then its REQUEST
        self.assertEqual((answer["ntp"], answer["dns"]), ("192.0.2.123", "192.0.2.153"))
        answer = self.ok("POST", "/", dict(query, op="discover", arch=[9]))
        self.assertNotEqual(answer["ntp"], "192.0.2.123")
        self.assertEqual(self.ok("POST", "/", dict(query, op="discover", user_class="iPXE"))
                         ["ntp"], "192.0.2.123")
        for bad in ({"arch": 7}, {"arch": ["7"]}, {"arch": [70000]}, {"vendor_class": 1},
                    {"user_class": ""}):
            self.error("POST", "/", dict(query, **bad), 400)

    def test_giaddr_places_the_request_on_the_relays_subnet(self):
        self.memory.hset("group:relayed", lease_time="2h")
        self.memory.hset("subnet:198.51.100.0/24", gateway="198.51.100.1", group="relayed",
                         range="198.51.100.10-198.51.100.12")
        answer = self.ok("POST", "/", {"op": "discover", "mac": OTHER, "giaddr": "198.51.100.1"})
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
        answer = self.ok("POST", "/", {"op": "discover", "mac": OTHER,
                                       "giaddr": "198.51.100.1"})
        self.assertEqual(answer["ip"], "198.51.100.10")

    def test_bad_extension_fields(self):
        for body in ({"client_id": "zz"}, {"client_id": "01"}, {"client_id": 7},
                     {"client_id": "0102 03"}, {"client_id": "01" * 256}, {"giaddr": "nope"},
                     {"giaddr": 7}, {"giaddr": "198.51.100.300"}):
            error = self.error("POST", "/", dict(body, mac=OTHER))
            self.assertEqual(error["error"], "bad " + next(iter(body)), body)
        self.assertEqual(self.memory.lease_records, {})

    def test_counts_as_a_packet(self):
        self.ok("POST", "/", {"mac": KNOWN})
        self.assertEqual(self.server.counters[("DISCOVER", "offer")], 1)


# ---------------------------------------------------------------- hostile requests

class LegacyQueryOriginTests(APITestCase):
    """POST / is what a web page in the operator's browser could send without a CORS preflight
    (a "simple" request: text/plain, no custom header), and what a reverse proxy on the same
    host forwards from anywhere as if from loopback."""

    def test_only_json_is_accepted(self):
        body = json.dumps({"mac": KNOWN}).encode()
        for kind in ("text/plain", "application/x-www-form-urlencoded", None):
            reply = self.call("POST", "/", raw=body, content_type=kind, token=None)
            self.assertEqual(reply.code, 415, kind)
        # twisted.web itself refuses a multipart body that does not parse as one
        reply = self.call("POST", "/", raw=body, content_type="multipart/form-data", token=None,
                          check=False)
        self.assertIn(reply.code, (400, 415))
        self.assertEqual(self.server.counters.get(("DISCOVER", "offer"), 0), 0)
        self.ok("POST", "/", raw=body, content_type="application/json; charset=utf-8",
                token=None)

    def test_a_request_from_a_web_page_is_refused(self):
        for origin in ("http://evil.example", "null", "http://127.0.0.1:8080"):
            error = self.error("POST", "/", {"mac": KNOWN}, 403, token=None,
                               headers={"Origin": origin})
            self.assertEqual(error["error"], "cross-origin request refused")
        self.assertEqual(self.server.counters.get(("DISCOVER", "offer"), 0), 0)
        # writes too, even with the token (a page could have it from a careless operator)
        self.error("PUT", "/api/v1/hosts/" + OTHER, {"ip": "192.0.2.11"}, 403,
                   headers={"Origin": "http://evil.example"})
        self.assertNotIn("mac:" + OTHER, self.memory.data)

    def test_configured_origins_are_allowed(self):
        self.api = AdminAPI(self.store, self.server, LINK, self.token, self.clock,
                            allowed_origins=["https://ops.example.test"])
        self.ok("POST", "/", {"mac": KNOWN}, token=None,
                headers={"Origin": "https://ops.example.test"})
        self.error("POST", "/", {"mac": KNOWN}, 403, token=None,
                   headers={"Origin": "https://ops.example.test.evil.example"})

    def test_a_proxied_request_is_not_a_loopback_one(self):
        for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
            reply = self.call("POST", "/", {"mac": KNOWN}, token=None,
                              headers={header: "198.51.100.9"})
            self.assertEqual(reply.code, 401, header)
        self.ok("POST", "/", {"mac": KNOWN}, headers={"X-Forwarded-For": "198.51.100.9"})


class HostileBodyTests(APITestCase):
    def test_a_body_over_the_limit_is_413(self):
        from apidhcpd.admin.api import MAX_BODY
        big = b'{"mac": "' + b"x" * MAX_BODY + b'"}'
        for method, path in (("POST", "/"), ("PUT", "/api/v1/hosts/" + OTHER)):
            error = self.error(method, path, raw=big, code=413)
            self.assertEqual(error["error"], "body too large")
        self.assertNotIn("mac:" + OTHER, self.memory.data)

    def test_deep_nesting_is_400_not_500(self):
        for raw in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000):
            for method, path in (("POST", "/"), ("PUT", "/api/v1/hosts/" + OTHER)):
                error = self.error(method, path, raw=raw, code=400)
                self.assertEqual(error["error"], "body is not JSON")

    def test_a_lone_surrogate_is_400_not_500(self):
        for method, path, raw in (
                ("POST", "/", b'{"mac": "%s", "client": "\\ud800"}' % KNOWN.encode()),
                ("PUT", "/api/v1/hosts/" + OTHER, b'{"hostname": "a\\udc00b"}'),
                ("PUT", "/api/v1/groups/lab", b'{"domain\\ud83d": "x"}')):
            error = self.error(method, path, raw=raw, code=400)
            self.assertEqual(error["error"], "body is not JSON", error)
        self.assertNotIn("mac:" + OTHER, self.memory.data)
        self.assertNotIn("group:lab", self.memory.data)

    def test_a_byte_order_mark_or_bad_utf8_is_400(self):
        for raw in (b'\xef\xbb\xbf{"mac": "%s"}' % KNOWN.encode(),
                    b'{"mac": "%s", "client": "\xff"}' % KNOWN.encode()):
            self.assertEqual(self.error("POST", "/", raw=raw, code=400)["error"],
                             "body is not JSON")

    def test_a_trailing_newline_in_a_key_is_400(self):
        self.error("PUT", "/api/v1/clients/foo%0A", {"ip": "192.0.2.30"}, 400)
        self.error("PUT", "/api/v1/groups/lab%0A", {"dns": "192.0.2.53"}, 400)
        self.assertEqual([k for k in self.memory.data if "\n" in k], [])


class RawHTTP(Protocol):
    """Sends `data` (then `more`, chunk by chunk, while the connection stays open) and keeps
    what comes back until the server closes the connection."""

    def __init__(self, data, more=()):
        self.data, self.more, self.received = data, list(more), b""
        self.done = defer.Deferred()

    def connectionMade(self):
        self.transport.write(self.data)
        self._next()

    def _next(self):
        if self.more and self.transport.connected and not self.done.called:
            self.transport.write(self.more.pop(0))
            reactor.callLater(0.001, self._next)

    def dataReceived(self, data):
        self.received += data

    def connectionLost(self, reason):
        self.more = []
        if not self.done.called:
            self.done.callback(self.received)


class BodyLimitOverHTTPTests(unittest.TestCase):
    """The cap as served (AdminAPI.site(), what tap.py listens with): a body over MAX_BODY
    is answered 413 and the connection closed before the body is read whole."""

    timeout = 20

    def setUp(self):
        memory = MemoryStore()
        memory.hset("group:default", gateway="192.0.2.1", prefix="24")
        server = DHCPServer(memory, Policy(server_id=SERVER), reactor, log_exchanges=False)
        self.api = AdminAPI(memory, server, LINK, TOKEN, reactor)
        self.port = reactor.listenTCP(0, self.api.site(), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)

    @defer.inlineCallbacks
    def send(self, data, more=()):
        protocol = RawHTTP(data, more)
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", self.port.getHost().port)
        connected = yield endpoint.connect(Factory.forProtocol(lambda: protocol))
        timer = reactor.callLater(5, connected.transport.abortConnection)
        received = yield protocol.done
        if timer.active():
            timer.cancel()
        return received

    @defer.inlineCallbacks
    def test_a_declared_length_over_the_limit(self):
        from apidhcpd.admin.api import MAX_BODY
        head = (b"PUT /api/v1/hosts/%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                b"\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n"
                % (OTHER.encode(), TOKEN.encode(), 10 * MAX_BODY))
        received = yield self.send(head + b"{" + b" " * 65536)
        self.assertTrue(received.startswith(b"HTTP/1.1 413 "), received[:200])
        self.assertIn(b'"body too large"', received)

    @defer.inlineCallbacks
    def test_a_chunked_body_that_grows_over_the_limit(self):
        from apidhcpd.admin.api import MAX_BODY
        head = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (65536, b" " * 65536)
        received = yield self.send(head, [chunk] * (MAX_BODY // 65536 + 40))
        self.assertTrue(received.startswith(b"HTTP/1.1 413 "), received[:200])
        body = yield self.send(b"GET /api/v1/groups/default HTTP/1.1\r\nHost: x\r\n"
                               b"Connection: close\r\n\r\n")
        self.assertTrue(body.startswith(b"HTTP/1.1 200 "), body[:200])


class HeadTests(APITestCase):
    def test_head_is_a_get_without_a_body_and_never_a_write(self):
        before = dict(self.memory.data["mac:" + KNOWN])
        reply = self.call("HEAD", "/api/v1/hosts/" + KNOWN, raw=b'{"ip": "192.0.2.99"}',
                          content_type="application/json")
        self.assertEqual((reply.code, reply.body), (200, b""))
        self.assertEqual(self.memory.data["mac:" + KNOWN], before)
        reply = self.call("HEAD", "/api/v1/hosts/" + OTHER, raw=b'{"ip": "192.0.2.98"}',
                          content_type="application/json")
        self.assertEqual((reply.code, reply.body), (404, b""))
        self.assertNotIn("mac:" + OTHER, self.memory.data)
        for path in ("/api/v1/groups/pool", "/api/v1/hosts", "/api/v1/status", "/metrics",
                     "/api/v1/leases/192.0.2.100", "/api/v1/openapi.json"):
            reply = self.call("HEAD", path)
            self.assertIn(reply.code, (200, 404), path)
            self.assertEqual(reply.body, b"", path)
        for path in ("/api/v1/pool/192.0.2.150", "/"):
            self.assertEqual(self.call("HEAD", path).code, 405, path)
        self.assertNotIn("192.0.2.150", self.memory.data.get("pool", {}))


class ErrorDisclosureTests(APITestCase):
    SECRET = "203.0.113.77:6379"

    def test_store_errors_do_not_show_where_the_store_is(self):
        def down(*args, **kwargs):
            return defer.fail(StoreUnavailable("no connection to Redis at " + self.SECRET))

        for name in ("ping", "lookup", "get"):
            self.patch(self.memory, name, down)
        self.api = AdminAPI(TimedStore(self.memory), self.server, LINK, TOKEN, self.clock)
        for method, path, body in (("GET", "/api/v1/status", None),
                                   ("GET", "/api/v1/hosts/" + KNOWN, None),
                                   ("POST", "/", {"op": "ping"}), ("GET", "/metrics", None)):
            reply = self.call(method, path, body)
            self.assertNotIn("203.0.113.77", reply.body.decode(), path)
        self.assertEqual(self.ok("GET", "/api/v1/status")["redis"],
                         {"ok": False, "error": "no connection to Redis"})

    def test_an_internal_error_says_nothing_of_the_inside(self):
        self.patch(self.memory, "get", lambda key: 1 / 0)
        self.api = AdminAPI(self.memory, self.server, LINK, TOKEN, self.clock)
        error = self.error("GET", "/api/v1/hosts/" + KNOWN, code=500)
        self.assertEqual(error, {"error": "internal error",
                                 "details": ["see the server's log"]})
        self.flushLoggedErrors(ZeroDivisionError)


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

    def warnings_at_start(self, *argv):
        events = []
        globalLogPublisher.addObserver(events.append)
        try:
            tap.makeService(self.parse("--heartbeat-port", "0", *argv), reactor=Clock())
        finally:
            globalLogPublisher.removeObserver(events.append)
        return [formatEvent(e) for e in events
                if e.get("log_level") == LogLevel.warn and "log_format" in e]

    def test_a_token_file_others_can_read_is_warned_about(self):
        path = self.token_file("abc.def\n")
        for mode, warned in ((0o644, "can be read by others (mode 0644)"),
                             (0o640, "can be read by its group (mode 0640)"), (0o600, None)):
            os.chmod(path, mode)
            found = [w for w in self.warnings_at_start("--api-token-file", path)
                     if "--api-token-file" in w]
            if warned:
                self.assertEqual(len(found), 1, found)
                self.assertIn(warned, found[0])
            else:
                self.assertEqual(found, [])

    def test_a_heartbeat_secret_file_others_can_read_is_warned_about(self):
        path = self.token_file("a shared secret of 32 bytes.....\n")
        os.chmod(path, 0o604)
        found = [w for w in self.warnings_at_start("--heartbeat-secret-file", path)
                 if "--heartbeat-secret-file" in w]
        self.assertEqual(len(found), 1, found)
        self.assertIn("can be read by others (mode 0604)", found[0])

    def test_allowed_origins(self):
        options = self.parse("--api-allowed-origins", "https://ops.example.test/, "
                                                      "http://[2001:db8::1]:8443")
        self.assertEqual(options["api-allowed-origins"],
                         ("https://ops.example.test", "http://[2001:db8::1]:8443"))
        self.assertEqual(self.parse()["api-allowed-origins"], ())
        e = self.assertRaises(usage.UsageError, self.parse, "--api-allowed-origins",
                              "ops.example.test")
        self.assertIn("--api-allowed-origins", str(e))

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
    def test_explain(self):
        self.redis.cli("HSET", "mac:" + KNOWN, "ip", "192.0.2.10", "ntp", "192.0.2.123")
        keys_before = sorted(self.redis.cli("--scan").split())
        code, body = yield self.call("GET", "/api/v1/explain?mac=%s&arch=7" % KNOWN, token=None)
        self.assertEqual(code, 200)
        self.assertEqual((body["host"], body["address"]["ip"]), ("mac:" + KNOWN, "192.0.2.10"))
        self.assertEqual({f["field"]: f["source"] for f in body["fields"]}["ntp"],
                         "mac:" + KNOWN)
        self.assertEqual(self.hget("mac:" + KNOWN, "ts"), "")  # no ts written
        self.assertEqual(sorted(self.redis.cli("--scan").split()), keys_before)
        code, body = yield self.call("GET", "/api/v1/explain?mac=x", token=None)
        self.assertEqual((code, body["error"]), (400, "bad MAC address"))

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
    def test_subnet6_and_ipv6_reservations_keep_the_indexes_true(self):
        """The lookup finds subnet6: keys by `subnets6` and never hands out what `reserved6`
        holds: API writes keep both (put.lua), in RFC 5952 form whatever was written."""
        code, entry = yield self.call("PUT", "/api/v1/subnets6/2001:DB8:1:0::/64",
                                      {"range": "2001:db8:1::100-2001:db8:1::1ff"})
        self.assertEqual((code, entry["key"]), (201, "subnet6:" + NET6))
        self.assertEqual(self.redis.cli("ZSCORE", "subnets6", NET6).strip(), "64")
        code, _ = yield self.call("PUT", "/api/v1/hosts/" + OTHER,
                                  {"ip": "192.0.2.11", "ip6": "2001:DB8:1::11"})
        self.assertEqual(code, 201)
        self.assertEqual(self.redis.cli("SMEMBERS", "reserved6").split(), ["2001:db8:1::11"])
        code, error = yield self.call("PUT", "/api/v1/duids/" + DUID, {"ip6": "2001:db8:1::11"})
        self.assertEqual((code, error["details"]), (409, [
            "ip6 2001:db8:1::11 is already reserved by mac:" + OTHER]))
        code, error = yield self.call("PUT", "/api/v1/duids/" + DUID, {"ip6": "2001:db8:2::11"})
        self.assertEqual((code, error["details"]), (400, ["ip6 2001:db8:2::11 is in no subnet6: "
                                                          "key"]))
        code, _ = yield self.call("DELETE", "/api/v1/hosts/" + OTHER)
        self.assertEqual(self.redis.cli("SCARD", "reserved6").strip(), "0")
        code, _ = yield self.call("DELETE", "/api/v1/subnets6/" + NET6)
        self.assertEqual((code, self.redis.cli("ZCARD", "subnets6").strip()), (204, "0"))

    @defer.inlineCallbacks
    def test_dhcpv6_leases_are_listed_from_the_lua_records(self):
        from apidhcpd.inventory.allocation6 import NA, source6
        from apidhcpd.store.contract6 import IAKey
        now = int(reactor.seconds())
        pool = source6(NET6, {"range": "2001:db8:1::100-2001:db8:1::1ff"}, NA)
        yield self.store.commit6(IAKey(DUID, 3), "2001:db8:1::100", pool, 3600, now, mac=OTHER)
        code, page = yield self.call("GET", "/api/v1/leases?family=6&duid=" + DUID)
        self.assertEqual((code, page["total"], page["items"]), (200, 1, [{
            "family": 6, "ip": "2001:db8:1::100", "kind": "na", "duid": DUID, "iaid": 3,
            "mac": OTHER, "state": "bound", "expires": now + 3600, "pool": NET6}]))
        code, page = yield self.call("GET", "/api/v1/leases?cursor=0&mac=" + OTHER)
        self.assertEqual([x["ip"] for x in page["items"]], ["2001:db8:1::100"])

    @defer.inlineCallbacks
    def test_legacy_commit_lease_listing_and_force_release(self):
        code, answer = yield self.call("POST", "/", {"op": "discover", "mac": OTHER})
        self.assertEqual((code, answer["ip"], answer["method"]), (200, "192.0.2.100", "dynamic"))
        code, _ = yield self.call("POST", "/", {"mac": OTHER, "op": "request",
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


    @defer.inlineCallbacks
    def test_pool_figures_and_bounded_reads_agree_with_the_memory_store(self):
        """The counts admin_tally.lua and admin_seed_tally.lua make, the subnet probe and the
        cursor walks, against what MemoryStore says for the same data."""
        now = int(reactor.seconds())
        self.redis.cli("HSET", "subnet:198.51.100.0/24", "range",
                       "198.51.100.10-198.51.100.19, 198.51.100.30")
        self.redis.cli("HSET", "pool", "192.0.2.150", "", "192.0.2.151", OTHER,
                       "192.0.2.152", THIRD, "192.0.2.153", "")
        memory = MemoryStore()
        for key in ("group:default", "group:pool", "subnet:198.51.100.0/24", "pool"):
            memory.data[key] = dict(self.redis_hash(key))
        for ip, mac, state, expires in (("192.0.2.100", OTHER, "bound", now + 60),
                                        ("192.0.2.101", THIRD, "offered", now + 60),
                                        ("192.0.2.102", "", "declined", now + 60),
                                        ("198.51.100.30", OTHER, "bound", now + 60),
                                        ("198.51.100.11", OTHER, "bound", now - 1),
                                        ("192.0.2.152", THIRD, "bound", now + 60),
                                        ("192.0.2.153", OTHER, "offered", now + 60)):
            self.redis.cli("HSET", "lease:" + ip, "mac", mac, "state", state, "expires",
                           expires, "relay", "")
            self.redis.cli("ZADD", "leases", expires, ip)
            memory.lease_records[ip] = Lease(ip, mac, state, expires)
        code, status = yield self.call("GET", "/api/v1/status")
        self.assertEqual(code, 200)
        from apidhcpd.store.pools import pool_usage
        expected = yield defer.ensureDeferred(pool_usage(memory, now))
        self.assertEqual(status["pools"], expected)
        self.assertEqual([(p["name"], p["bound"], p["offered"], p["declined"])
                          for p in expected],
                         [("group:pool", 1, 1, 1), ("subnet:198.51.100.0/24", 1, 0, 0),
                          ("pool", 2, 1, 0)])
        store = self.store
        self.assertEqual((yield store.subnet_of("198.51.100.7")), "198.51.100.0/24")
        self.assertIsNone((yield store.subnet_of("203.0.113.7")))
        self.assertEqual((yield store.lease_at("192.0.2.101")),
                         memory.lease_records["192.0.2.101"])
        seen, cursor = {}, "0"
        while True:
            cursor, part = yield store.hash_scan("pool", cursor, 2)
            seen.update(part)
            if cursor == "0":
                break
        self.assertEqual(seen, memory.data["pool"])

    def redis_hash(self, key):
        flat = self.redis.cli("HGETALL", key).split("\n")[:-1]
        return dict(zip(flat[::2], flat[1::2]))


FILL = """
local hosts, leases, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 0, hosts - 1 do
  redis.call('HSET', string.format('mac:02:10:00:%02x:%02x:%02x', math.floor(i / 65536) % 256,
             math.floor(i / 256) % 256, i % 256), 'ip',
             string.format('10.%d.%d.%d', math.floor(i / 65536) % 256,
                           math.floor(i / 256) % 256, i % 256), 'hostname', 'h' .. i)
end
for i = 0, leases - 1 do
  local ip = string.format('192.0.%d.%d', 2 + math.floor(i / 250) % 2, 1 + i % 250)
  if i >= 500 then ip = string.format('172.16.%d.%d', math.floor(i / 250), 1 + i % 250) end
  redis.call('HSET', 'lease:' .. ip, 'mac', string.format('02:20:00:00:%02x:%02x',
             math.floor(i / 256) % 256, i % 256), 'state', 'bound', 'expires', now + 3600)
  redis.call('ZADD', 'leases', now + 3600, ip)
end
return hosts + leases
"""


class RedisCostTests(RedisTestMixin, unittest.TestCase):
    """What each admin read costs Redis with 20,000 hosts and 20,000 leases: in proportion
    to the page (counted with INFO commandstats), never a read of the whole inventory."""

    timeout = 60
    HOSTS = LEASES = 20_000

    @defer.inlineCallbacks
    def setUp(self):
        super().setUp()
        self.redis.cli("HSET", "group:default", "gateway", "192.0.2.1", "prefix", "24")
        self.redis.cli("HSET", "group:pool", "range", "192.0.2.100-192.0.2.102")
        self.redis.cli("HSET", "group:lab", "dns", "192.0.2.53")
        self.redis.cli("EVAL", FILL, "0", self.HOSTS, self.LEASES, int(reactor.seconds()))
        redis = yield connected_store(self, self.redis)
        redis.trust_reserved_index = True  # as tap.py makes it
        self.store = TimedStore(redis)
        server = DHCPServer(self.store, Policy(server_id=SERVER), reactor, log_exchanges=False)
        self.api = AdminAPI(self.store, server, LINK, TOKEN, reactor)
        self.port = reactor.listenTCP(0, Site(self.api.resource()), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)

    def calls(self):
        """{command: calls} since the last reset (commands inside scripts count too)."""
        found = {}
        for line in self.redis.cli("INFO", "commandstats").splitlines():
            if line.startswith("cmdstat_"):
                name, _, rest = line[8:].partition(":")
                found[name] = int(rest.split(",")[0].split("=")[1])
        self.redis.cli("CONFIG", "RESETSTAT")
        return found

    @defer.inlineCallbacks
    def call(self, method, path, body=None):
        headers = {"Authorization": "Bearer " + TOKEN}
        if body is not None:
            headers["Content-Type"] = "application/json"
        self.calls()
        response = yield treq.request(
            method, "http://127.0.0.1:%d%s" % (self.port.getHost().port, path),
            data=json.dumps(body).encode() if body is not None else None, headers=headers,
            persistent=False)
        content = yield response.content()
        return response.code, json.loads(content) if content.startswith(b"{") else content

    def assertCheap(self, calls, limit=200):
        """No command (nor all of them together) ran anywhere near once per host or lease."""
        self.assertLess(sum(calls.values()), limit, calls)

    @defer.inlineCallbacks
    def test_host_pages(self):
        code, page = yield self.call("GET", "/api/v1/hosts?cursor=0&limit=5")
        self.assertEqual(code, 200)
        self.assertTrue(0 < len(page["items"]) <= 20, len(page["items"]))
        self.assertCheap(self.calls())
        code, error = yield self.call("GET", "/api/v1/hosts?limit=1")
        self.assertEqual((code, error["error"]), (400, "inventory too large for offset paging"))
        self.assertCheap(self.calls())
        code, page = yield self.call("GET", "/api/v1/groups?cursor=0&limit=10")
        self.assertEqual(code, 200)
        self.assertCheap(self.calls(), 2000)  # SCAN steps over every key: few, but not one

    @defer.inlineCallbacks
    def test_lease_reads(self):
        code, page = yield self.call("GET", "/api/v1/leases?limit=2")
        self.assertEqual((code, page["total"], len(page["items"])), (200, self.LEASES, 2))
        self.assertCheap(self.calls())
        code, page = yield self.call("GET", "/api/v1/leases?cursor=0&limit=3&state=bound")
        self.assertEqual((code, len(page["items"])), (200, 3))
        self.assertCheap(self.calls(), 1200)  # one step of leases.lua: 500 HMGETs at most
        code, lease = yield self.call("GET", "/api/v1/leases/192.0.2.7")
        self.assertEqual((code, lease["state"]), (200, "bound"))
        self.assertCheap(self.calls(), 20)

    @defer.inlineCallbacks
    def test_metrics_and_status_are_served_from_a_cache(self):
        code, _ = yield self.call("GET", "/metrics")
        self.assertEqual(code, 200)
        self.calls()
        for path in ("/metrics", "/api/v1/status"):
            code, _ = yield self.call("GET", path)
            self.assertEqual(code, 200)
            self.assertCheap(self.calls(), 20)

    @defer.inlineCallbacks
    def test_writes_that_check_the_inventory(self):
        code, _ = yield self.call("PUT", "/api/v1/hosts/" + OTHER, {"ip": "192.0.2.40"})
        self.assertEqual(code, 201)
        self.assertCheap(self.calls())
        code, error = yield self.call("PUT", "/api/v1/hosts/" + THIRD, {"ip": "192.0.2.40"})
        self.assertEqual((code, error["details"]), (409, [
            "ip 192.0.2.40 is already reserved by mac:" + OTHER]))
        self.redis.cli("HSET", "mac:02:20:00:00:00:06", "ip", "192.0.2.7", "dynamic", "1")
        code, error = yield self.call("PUT", "/api/v1/hosts/" + THIRD, {"ip": "192.0.2.7"})
        self.assertEqual((code, error["details"]), (409, [
            "ip 192.0.2.7 is already leased by mac:02:20:00:00:00:06"]))
        self.calls()
        code, _ = yield self.call("PUT", "/api/v1/pool/192.0.2.150")
        self.assertEqual(code, 201)
        self.assertCheap(self.calls())
        self.redis.cli("HSET", "mac:" + OTHER, "group", "lab")
        code, error = yield self.call("DELETE", "/api/v1/groups/lab")
        self.assertEqual((code, error["details"]), (409, [
            "group:lab is used by mac:" + OTHER]))
        # finding a group's users reads every host, but in steps of ADMIN_STEP keys
        from apidhcpd.store.redisadmin import ADMIN_STEP
        calls = self.calls()
        self.assertLess(calls.get("hgetall", 0), 10, calls)
        self.assertLess(calls["evalsha"], (self.HOSTS + self.LEASES) / ADMIN_STEP * 2 + 10)


    @defer.inlineCallbacks
    def test_ipv6_reservations_are_checked_by_the_indexes(self):
        """subnet6_of probes the lengths in use, holders6 asks reserved6, lease6_at reads one
        record: a few commands whatever the inventory's size."""
        code, _ = yield self.call("PUT", "/api/v1/subnets6/" + NET6, {"dns6": "2001:db8::53"})
        self.assertEqual(code, 201)
        self.calls()
        code, _ = yield self.call("PUT", "/api/v1/hosts/" + OTHER, {"ip6": "2001:db8:1::40"})
        self.assertEqual(code, 201)
        self.assertCheap(self.calls(), 60)
        code, error = yield self.call("PUT", "/api/v1/duids/" + DUID, {"ip6": "2001:db8:1::40"})
        self.assertEqual((code, error["details"]), (409, [
            "ip6 2001:db8:1::40 is already reserved by mac:" + OTHER]))
        self.assertLess(self.calls()["evalsha"], (self.HOSTS + self.LEASES) / 500 * 2 + 10)


class NetworkWarningTests(APITestCase):
    """A write that leaves a group's gateway on none of the subnets it serves says so (issue
    10, item 11): the write stands, its clients there get the subnet's own router."""

    def test_a_subnet_write_warns_about_the_pool_groups_gateway(self):
        entry = self.ok("PUT", "/api/v1/subnets/198.51.100.0/24",
                        {"gateway": "198.51.100.1", "range": "198.51.100.10-198.51.100.20"},
                        201)
        self.assertEqual(len(entry.get("warnings", [])), 2, entry)  # group:default and pool
        self.assertTrue(entry["warnings"][1].startswith(
            "group:pool: gateway 192.0.2.1 is not on 198.51.100.0/24"), entry["warnings"])
        # the server LAN gets its subnet: key too: both groups' gateway is on a subnet they serve
        entry = self.ok("PUT", "/api/v1/subnets/192.0.2.0/24", {"group": "pool"}, 201)
        self.assertNotIn("warnings", entry)
        self.assertNotIn("warnings", self.ok("PUT", "/api/v1/hosts/02:00:00:00:05:01",
                                             {"ip": "192.0.2.60"}, 201))
