"""The OpenAPI 3 description of the admin API, served at /api/v1/openapi.json.

The document is package data (openapi.json beside this module, edited by hand with the routes
it describes); only its `info.version` is filled in here, from apidhcpd.__version__. The tests
check every response against it and that every route is described. Knows nothing of HTTP.
"""

import json
from importlib import resources

from apidhcpd import __version__


def load() -> dict:
    """The description, as served."""
    text = resources.files(__package__).joinpath("openapi.json").read_text(encoding="utf-8")
    spec = json.loads(text)
    spec["info"]["version"] = __version__
    return spec


OPENAPI = load()
