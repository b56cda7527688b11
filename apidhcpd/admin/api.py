"""The HTTP admin API (Klein): JSON under /api/v1, the seed's legacy `POST /` query, /metrics.

AdminAPI is the routes of routes_inventory.py, routes_leases.py, routes_explain.py and
legacy.py on the one Klein app of app.py (authentication, the Origin check, JSON errors);
web.py reads and writes the HTTP. It works on IAdmin (store/contract.py), the very store
object the DHCP server uses, so a write takes effect on the next packet. Whether a write is
valid is validation.py's to say. The routes are described in openapi.json (openapi.py) and
docs/api.md. This module only composes them, and names what tap.py and the tests import.
"""

from apidhcpd.admin.app import parse_listen, parse_origins, read_token
from apidhcpd.admin.legacy import LegacyRoutes
from apidhcpd.admin.openapi import OPENAPI
from apidhcpd.admin.routes_explain import ExplainRoutes
from apidhcpd.admin.routes_inventory import InventoryRoutes
from apidhcpd.admin.routes_leases import LeaseRoutes
from apidhcpd.admin.web import MAX_BODY

__all__ = ["MAX_BODY", "OPENAPI", "AdminAPI", "parse_listen", "parse_origins", "read_token"]


class AdminAPI(InventoryRoutes, LeaseRoutes, ExplainRoutes, LegacyRoutes):
    """The admin API on `store` (IStore + IAdmin), answering legacy queries with `server`
    (a DHCPServer) as if they came in on `link`: see AdminApp for the arguments."""
