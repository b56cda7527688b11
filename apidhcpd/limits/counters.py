"""Outcome counters: what a packet path counts by key ((message type, outcome), ("dropped",
kind)), read by the status API and the metrics at scrape time. Plain dict arithmetic on the
packet path; knows nothing of what the keys mean."""

from collections.abc import Hashable


class Counters(dict[Hashable, int]):
    """Outcome counts by key, read by status and metrics."""

    def add(self, key: Hashable) -> None:
        self[key] = self.get(key, 0) + 1
