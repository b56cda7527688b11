"""The clock as the packet path and the limits use it: IReactorTime's `seconds` and
`callLater` as a typing Protocol, since mypy reads no zope Interface without a plugin. The
reactor is one, and so is twisted.internet.task.Clock in the tests. Knows nothing else."""

from collections.abc import Callable
from typing import Protocol


class DelayedCall(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def seconds(self) -> float: ...

    def callLater(self, delay: float, callable: Callable[..., object], *args: object,
                  **kw: object) -> DelayedCall: ...
