"""GET /ping on the heartbeat port: 200 while this node can serve, 503 (with the reason) when not.

Knows the health signal (the store's reachability); nothing else. The standby of the seed's
master/standby pair polls this on the master.
"""

from twisted.web.resource import Resource


class Ping(Resource):
    isLeaf = True

    def __init__(self, health):
        super().__init__()
        self.health = health

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        problem = self.health.problem()
        if problem:
            request.setResponseCode(503)
            return ("unavailable: %s\n" % problem).encode()
        return b"ok\n"


def heartbeat_resource(health) -> Resource:
    root = Resource()
    root.putChild(b"ping", Ping(health))
    return root
