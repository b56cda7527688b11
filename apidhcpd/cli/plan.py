"""The write side of apidhcpd-cli: a command first builds a Plan (the keys it will change, as
Change objects), has it checked by validation.py, and only then writes it through the store's
IAdmin methods, so a rejected command changes nothing. Also the CLI's two failures (Failed,
Usage). Knows nothing of argument parsing or of output formats.
"""

import shlex

from twisted.internet import defer

from apidhcpd.store import keys

# what an import is judged against (validation.check_snapshot): the keys hosts and networks
# of both families refer to
INVENTORY_PREFIXES = (keys.GROUP, keys.SUBNET, keys.SUBNET6) + keys.HOST_PREFIXES6


class Failed(Exception):
    """A command failed: each argument is one line for stderr; exit status 1 (as for an
    Invalid change, one line per detail)."""


class Usage(Exception):
    """The command line is wrong: exit status 2."""


# ---------------------------------------------------------------------------------------------
# plans: what a command will write, checked (validation.py), then written

class Change:
    """The change to one key: `replace` it (else merge), set `values`, remove `removed`."""

    def __init__(self, key: str, replace: bool = False):
        self.key = key
        self.replace = replace
        self.values: dict[str, str] = {}
        self.removed: set[str] = set()

    def set(self, values: dict[str, str], removed=()):
        for field in removed:
            self.values.pop(field, None)
            if not self.replace:
                self.removed.add(field)
        for field, value in values.items():
            self.values[field] = value
            self.removed.discard(field)

    def apply(self, current: dict[str, str] | None) -> dict[str, str]:
        result = {} if self.replace else dict(current or {})
        result.update(self.values)
        for field in self.removed:
            result.pop(field, None)
        return result

    def describe(self) -> str:
        if self.replace and not self.values:
            return "delete %s" % self.key
        parts = ["%s=%s" % (k, shlex.quote(v)) for k, v in self.values.items()]
        parts += ["-%s" % k for k in sorted(self.removed)]
        return "%s %s %s" % ("replace" if self.replace else "merge", self.key, " ".join(parts))


class Plan:
    """Changes in first-seen order, keyed by Redis key."""

    def __init__(self):
        self.changes: dict[str, Change] = {}

    def change(self, key: str, replace: bool = False) -> Change:
        if replace or key not in self.changes:
            self.changes[key] = Change(key, replace)
        return self.changes[key]

    def apply(self, state: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        after = dict(state)
        for key, change in self.changes.items():
            after[key] = change.apply(state.get(key))
            if not after[key]:
                del after[key]
        return after

    def ordered(self) -> list[Change]:
        rank = {keys.GROUP: 0, keys.SUBNET: 1, keys.SUBNET6: 1, keys.SEED_POOL: 3}
        return sorted(self.changes.values(),
                      key=lambda c: rank.get(c.key[:c.key.find(":") + 1] or c.key, 2))

    def count(self, *prefixes) -> int:
        return sum(1 for key in self.changes if key.startswith(prefixes))


def reserve_ip(change: Change, current: dict[str, str] | None) -> None:
    """Setting `ip` on a host makes it a reservation: drop the server's `dynamic` mark."""
    if "ip" in change.values and (current or {}).get("dynamic") and not change.replace:
        change.removed.add("dynamic")


def checked(coroutine):
    """A validation.py check as a Deferred (for inlineCallbacks)."""
    return defer.ensureDeferred(coroutine)


@defer.inlineCallbacks
def load_state(store):
    """The whole inventory: {key: fields} for every group, subnet, subnet6, host (duid: too),
    and `pool`."""
    state = {}
    for prefix in INVENTORY_PREFIXES:
        state.update((yield store.hashes(prefix)))
    pool = yield store.get(keys.SEED_POOL)
    if pool:
        state[keys.SEED_POOL] = pool
    return state


@defer.inlineCallbacks
def write_plan(store, plan: Plan):
    """Write the changes (groups first, then subnets, hosts, pool); the last hash written."""
    result: dict[str, str] = {}
    done = 0
    try:
        for change in plan.ordered():
            if change.replace and not change.values:
                yield store.delete(change.key)
                result = {}
            else:
                if change.values or change.replace:
                    result = yield store.put(change.key, dict(change.values),
                                             "replace" if change.replace else "merge")
                if change.removed:
                    result = yield store.put(change.key, dict.fromkeys(change.removed, ""),
                                             "remove")
            done += 1
    except Exception as e:
        raise Failed("write failed after %d of %d keys: %s" % (done, len(plan.changes), e)) from e
    return result

