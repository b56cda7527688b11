"""GET /ping on the heartbeat port: 200 while this node can serve, 503 (with the reason) when not.

Knows the health signal (the store's reachability) and shows the node's role; nothing else. The standby of the seed's
master/standby pair polls this on the master.
"""

from twisted.web.resource import Resource


class Ping(Resource):
    isLeaf = True

    def __init__(self, health, role):
        super().__init__()
        self.health = health
        self.role = role

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        problem = self.health.problem()
        if problem:
            request.setResponseCode(503)
            return ("unavailable: %s (%s)\n" % (problem, self.role())).encode()
        return ("ok (%s)\n" % self.role()).encode()


def heartbeat_resource(health, role=lambda: "standalone") -> Resource:
    """`role()` says what this node is, e.g. `standby, master-dead`."""
    root = Resource()
    root.putChild(b"ping", Ping(health, role))
    return root
