"""A group of a queue's items: those put under one name, which join(group=...) waits for apart from the rest."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional
from urllib.parse import quote

if TYPE_CHECKING:  # for the annotation only: _queue imports this module, not the other way round
    from ._queue import Queue

_UNSET: Any = object()


def settings(weight: Any, max_in_flight: Any) -> Dict[str, Any]:
    """The body of a group's PATCH: what was given (``max_in_flight=None`` is given: it removes the group's cap)."""
    return {k: v for k, v in (("weight", weight), ("max_in_flight", max_in_flight)) if v is not _UNSET}


class Group:
    """One group of a queue: the items a producer put under one name, which ``join`` waits for apart from the rest.
    Every item put through it carries the group; ``stats()`` raises QueueError (not_found) for a group the queue
    does not know or has forgotten. ``cancel()`` ends it, ``configure()`` sets its share of a fair queue."""

    def __init__(self, queue: Queue, name: str) -> None:
        self.queue = queue
        self.name = name
        self._path = f"{queue._path}/groups/{quote(name, safe='')}"

    def put(self, item: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        self.queue.put(item, block, timeout, group=self.name)

    def put_many(self, items: List[Any], block: bool = True, timeout: Optional[float] = None) -> None:
        self.queue.put_many(items, block, timeout, group=self.name)

    def join(self, timeout: Optional[float] = None) -> Optional[bool]:
        return self.queue.join(timeout, group=self.name)

    def stats(self) -> Dict[str, Any]:
        """The group's stats as the service answers them: its counts, ``state`` (open, drained, cancelled), ``weight``,
        ``max_in_flight``..."""
        return self.queue._http.request("GET", self._path)

    def cancel(self) -> Dict[str, Any]:
        """Cancels the group, for every process: its items not yet delivered are removed (``cancelled``, counted
        done), the deliveries still out (``in_flight``) end as their consumers finish them or their leases end (never
        redelivered), and a later put naming it raises GroupCancelled. Its join returns once those have ended.
        QueueError not_found for a group the queue does not know; a repeat answers ``cancelled: 0``."""
        return self.queue._http.request("POST", f"{self._path}/cancel", {})

    def configure(self, *, weight: int = _UNSET, max_in_flight: Optional[int] = _UNSET) -> Dict[str, Any]:
        """Sets the group's ``weight`` (1-100, its share of a fair queue's gets) and ``max_in_flight`` (its deliveries
        out at once, 1-100,000; None: the queue's ``group_max_in_flight`` again), and answers its stats."""
        return self.queue._http.request("PATCH", self._path, settings(weight, max_in_flight))

    @property
    def unfinished_tasks(self) -> int:
        return int(self.stats()["unfinished_tasks"])
