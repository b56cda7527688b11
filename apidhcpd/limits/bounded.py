"""A map capped in entries and in bytes, for what the packet path keeps per client.

Knows nothing of what it holds: the caller gives each entry's approximate size when it stores
it (the lengths of its key's and fields' strings, computed once, at store time, so reads cost
nothing extra) and when the entry expires. Stored entries go to the back; when a cap is
reached the oldest go first, one at a time, so a flood of new entries pushes out the entries
not stored (or `touch`ed) for the longest while, never the whole map at once. Expired entries
are dropped when read, and at most two at the front each time an entry is stored, so that
they go without a sweep. No I/O, no clock: times are the caller's.
"""

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

NEVER = float("inf")


class BoundedMap:
    """key -> value, at most `max_entries` entries and `max_bytes` bytes (as the sizes given to
    put() add up). `on_evict(key, value)` is told of every entry the map drops by itself
    (full, expired, too large), not of those the caller pop()s or replaces."""

    def __init__(self, max_entries: int, max_bytes: int,
                 on_evict: Callable[[Any, Any], None] | None = None):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self.evicted = 0  # entries dropped to stay within the caps
        self._on_evict = on_evict
        # key -> [value, size, expires], oldest first; read it directly where speed counts
        # (and set an entry's expiry in place: entry[2] = ...)
        self.entries: OrderedDict[Hashable, list[Any]] = OrderedDict()

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self.entries

    def get(self, key: Hashable, now: float | None = None, default: Any = None) -> Any:
        """The value, or `default` if there is none or (given `now`) it has expired."""
        entry = self.entries.get(key)
        if entry is None:
            return default
        if now is not None and entry[2] <= now:
            self._drop(key)
            return default
        return entry[0]

    def put(self, key: Hashable, value: Any, size: int, expires: float = NEVER,
            now: float | None = None) -> bool:
        """Store at the back; False (and nothing stored) if the entry alone is over the byte
        cap. Given `now`, expired entries at the front are dropped too."""
        entries = self.entries
        old = entries.pop(key, None)
        if old is not None:
            self.bytes -= old[1]
        if size > self.max_bytes or self.max_entries < 1:
            if old is not None and self._on_evict is not None:
                self._on_evict(key, old[0])
            return False
        entries[key] = [value, size, expires]
        self.bytes += size
        while len(entries) > self.max_entries or self.bytes > self.max_bytes:
            self._drop(next(iter(entries)), full=True)
        if now is not None:
            for _ in range(2):
                first = next(iter(entries))
                if entries[first][2] > now:
                    break
                self._drop(first)
        return True

    def touch(self, key: Hashable) -> None:
        """Move an entry to the back, as if stored again (least recently used goes first)."""
        self.entries.move_to_end(key)

    def pop(self, key: Hashable, default: Any = None) -> Any:
        """Remove an entry; its value, or `default`."""
        entry = self.entries.pop(key, None)
        if entry is None:
            return default
        self.bytes -= entry[1]
        return entry[0]

    def clear(self) -> None:
        self.entries.clear()
        self.bytes = 0

    def _drop(self, key: Hashable, full: bool = False) -> None:
        value, size, _ = self.entries.pop(key)
        self.bytes -= size
        if full:
            self.evicted += 1
        if self._on_evict is not None:
            self._on_evict(key, value)
