"""One group of an asyncio queue's items (aio.Group): joinable_queues.Group's calls, asyncio's way. What asks the
service is awaited; a put is the queue's, taken at once where the loop sees room."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional
from urllib.parse import quote

from ._group import _UNSET, settings

if TYPE_CHECKING:  # for annotations only: aio imports this module
    from .aio import Queue


class Group:
    """One group of a queue's items: ``await put``, ``put_nowait``, ``await put_many``, ``await join``,
    ``await stats()``, ``await cancel()``, ``await configure(weight=, max_in_flight=)``."""

    def __init__(self, queue: "Queue", name: str) -> None:
        self.queue, self.name = queue, name
        self._path = f"{queue._q._path}/groups/{quote(name, safe='')}"

    async def put(self, item: Any) -> None:
        await self.queue.put(item, group=self.name)

    def put_nowait(self, item: Any) -> None:
        self.queue.put_nowait(item, group=self.name)

    async def put_many(self, items: List[Any]) -> None:
        await self.queue.put_many(items, group=self.name)

    async def join(self, timeout: Optional[float] = None) -> Optional[bool]:
        return await self.queue.join(timeout, group=self.name)

    async def stats(self) -> Dict[str, Any]:
        """The group's stats (one round trip): its counts, ``state``, ``weight``, ``max_in_flight``...; QueueError
        not_found for a group the queue does not know."""
        return await self.queue._session().http.request("GET", self._path)

    async def cancel(self) -> Dict[str, Any]:
        """joinable_queues.Group.cancel(), once what this loop sent before has been answered (its puts to the group
        among it): answers ``{"group", "cancelled", "in_flight"}``. A put to the group then raises GroupCancelled at
        once in this process (in another, once the service refuses it)."""
        session = self.queue._session()
        await session.outbox.flush()
        answer = await session.http.request("POST", f"{self._path}/cancel", {})
        self.queue._cancelled.add(self.name)
        return answer

    async def configure(self, *, weight: int = _UNSET, max_in_flight: Optional[int] = _UNSET) -> Dict[str, Any]:
        """joinable_queues.Group.configure(): the group's weight and cap; answers its stats."""
        return await self.queue._session().http.request("PATCH", self._path, settings(weight, max_in_flight))
