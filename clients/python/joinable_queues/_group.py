"""A group of a queue's items: those put under one name, which join(group=...) waits for apart from the rest."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional
from urllib.parse import quote

if TYPE_CHECKING:  # for the annotation only: _queue imports this module, not the other way round
    from ._queue import Queue


class Group:
    """One group of a queue: the items a producer put under one name, which ``join`` waits for apart from the rest.
    Every item put through it carries the group; ``stats()`` raises QueueError (not_found) for a group the queue
    does not know or has forgotten."""

    def __init__(self, queue: Queue, name: str) -> None:
        self.queue = queue
        self.name = name

    def put(self, item: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        self.queue.put(item, block, timeout, group=self.name)

    def put_many(self, items: List[Any], block: bool = True, timeout: Optional[float] = None) -> None:
        self.queue.put_many(items, block, timeout, group=self.name)

    def join(self, timeout: Optional[float] = None) -> Optional[bool]:
        return self.queue.join(timeout, group=self.name)

    def stats(self) -> Dict[str, Any]:
        return self.queue._http.request("GET", f"{self.queue._path}/groups/{quote(self.name, safe='')}")

    @property
    def unfinished_tasks(self) -> int:
        return int(self.stats()["unfinished_tasks"])
