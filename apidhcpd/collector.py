"""Python's cycle collector, tuned for a server whose packet path makes no cyclic garbage.

At the default thresholds the collector took a fifth of the packet path's CPU, and its
collections over the growing caches (a Lookup per client, 100,000 and more) paused the reactor
for 100 ms and more under load, long enough to overflow the socket. The packet path makes no
cycles (a full collection after 1,000 and after 6,000 DORA in bench/inprocess.py finds the
same 2,142 objects, all from start-up), so what it leaves behind is freed by reference counting
alone. Knows nothing of DHCP.
"""

import gc

from twisted.application import internet, service


def tune():
    """Collect the young generation every 50,000 allocations instead of 700, and leave what
    start-up made (modules, classes) out of every later collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def collect_everything():
    """One full collection of everything ever frozen, then freeze again."""
    gc.unfreeze()
    found = gc.collect()
    gc.freeze()
    return found


class CollectorService(service.MultiService):
    """Every `freeze_every` seconds, move what lives out of the collector's view (gc.freeze is
    a constant-time list splice): each collection then sees only what is younger than that,
    and the caches' entries stay out of it while they live. Every `full_every` seconds, one
    full collection frees whatever cycle was frozen by chance."""

    def __init__(self, freeze_every: float = 1.0, full_every: float = 3600.0, clock=None):
        super().__init__()
        freezer = internet.TimerService(freeze_every, gc.freeze)
        full = internet.TimerService(full_every, collect_everything)
        for timer in (freezer, full):
            if clock is not None:
                timer.clock = clock
            timer.setServiceParent(self)
