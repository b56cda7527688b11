"""The seed's master/standby pair: the standby watches the master's heartbeat in the background
and answers only while the master is dead.

Knows the roles and the takeover rules (a few missed beats before taking over, a few good ones
before handing back); polls `GET /ping` with the reactor's HTTP client. Knows nothing of DHCP
beyond which transactions a standby may answer (the handlers in this module).
"""

from twisted.internet import defer
from twisted.logger import Logger
from twisted.web.client import Agent, readBody

from apidhcpd import options as opt
from apidhcpd.handlers import ClientLookup, Drop, LeaseAllocation
from apidhcpd.timeouts import race

log = Logger()


class PeerDown(Exception):
    pass


class PeerMonitor:
    """Polls the master's /ping; `master_alive` flips to False after `takeover_after` failed
    polls in a row and back to True after `handback_after` good ones. Until the first verdict
    the master counts as alive, so a standby that starts never answers over a live master."""

    def __init__(self, url: str, clock, *, timeout: float = 0.5, takeover_after: int = 3,
                 handback_after: int = 3, agent=None):
        self.url = url
        self.clock = clock
        self.timeout = timeout
        self.takeover_after = takeover_after
        self.handback_after = handback_after
        self.agent = agent or Agent(clock, connectTimeout=timeout)
        self.master_alive = True
        self.misses = 0
        self.hits = 0
        self.takeovers = 0
        self.last_error = ""

    @property
    def state(self) -> str:
        return "master-alive" if self.master_alive else "master-dead"

    def poll(self) -> defer.Deferred:
        call = self.agent.request(b"GET", self.url.encode())
        call.addCallback(self._read)
        return race(call, self.timeout, self.clock,
                    lambda: PeerDown("no answer within %.1fs" % self.timeout)).addCallbacks(
            self._alive, self._missed)

    def _read(self, response):
        body = readBody(response)
        if response.code != 200:
            return body.addCallback(lambda data: defer.fail(PeerDown(
                "answered %d: %s" % (response.code, data.decode("utf-8", "replace").strip()))))
        return body

    def _alive(self, _):
        self.hits, self.misses = self.hits + 1, 0
        if not self.master_alive and self.hits >= self.handback_after:
            self.master_alive = True
            log.warn("master {url} is back: handing back, this standby goes silent",
                     url=self.url)

    def _missed(self, failure):
        self.misses, self.hits = self.misses + 1, 0
        self.last_error = failure.getErrorMessage()
        if self.master_alive and self.misses >= self.takeover_after:
            self.master_alive = False
            self.takeovers += 1
            log.warn("master {url} is down ({error}): this standby takes over",
                     url=self.url, error=self.last_error)


class StandbyFilter:
    """First in the chain of a standby: silent while the master is alive."""

    def __init__(self, monitor: PeerMonitor):
        self.monitor = monitor

    async def __call__(self, tx):
        if self.monitor.master_alive:
            raise Drop("standby: the master is alive", kind="standby")


class StandbyAllocation:
    """Before allocation on a standby without --allow-slave: a dynamic client is served only
    with the lease it already holds (renewals, reboots); no new addresses are handed out."""

    def __init__(self, store):
        self.store = store

    async def __call__(self, tx):
        host = tx.lookup.host
        if (host and host.reserved_ip) or tx.request.message_type not in (opt.DISCOVER,
                                                                        opt.REQUEST):
            return
        lease = await self.store.lease_of(tx.mac, tx.now)
        if lease is None:
            raise Drop("standby without --allow-slave: no new dynamic address for %s" % tx.mac,
                       kind="standby-no-allocation")


def install(server, monitor: PeerMonitor, store, allow_allocation: bool) -> None:
    """Make `server` a standby: silent while the master lives, and without `allow_allocation`
    (the seed's --allow-slave) serving no new dynamic addresses."""
    chain = server.chain
    if not allow_allocation:
        at = next(i for i, step in enumerate(chain) if isinstance(step, LeaseAllocation))
        chain.insert(at, StandbyAllocation(store))
        for step in chain:
            if isinstance(step, ClientLookup):
                step.allocate = False  # the gate must run between lookup and allocation
    chain.insert(0, StandbyFilter(monitor))
