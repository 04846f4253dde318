"""asyncio.Queue's interface, built on the same client: each blocking call runs in a worker thread."""
from __future__ import annotations

import asyncio
import types
from typing import Any, Optional

from . import _queue


class Queue:
    """Mirrors asyncio.Queue: ``await put``, ``await get``, ``task_done()``, ``await join()``, ``shutdown()``.

    Keyword arguments (``name``, ``url``, ``token``, ...) are those of joinable_queues.Queue. ``task_done`` and
    the counters make one short HTTP call on the event loop's thread, as asyncio's are synchronous."""

    _sync = _queue.Queue
    __class_getitem__ = classmethod(types.GenericAlias)

    def __init__(self, maxsize: int = _queue._UNSET, **options: Any) -> None:
        self._q = self._sync(maxsize, **options)
        self.name = self._q.name

    async def put(self, item: Any) -> None:
        await asyncio.to_thread(self._q.put, item)

    def put_nowait(self, item: Any) -> None:
        self._q.put_nowait(item)

    async def get(self) -> Any:
        return await asyncio.to_thread(self._q.get)

    def get_nowait(self) -> Any:
        return self._q.get_nowait()

    def task_done(self) -> None:
        self._q.task_done()

    async def join(self, timeout: Optional[float] = None) -> Optional[bool]:
        return await asyncio.to_thread(self._q.join, timeout)

    def qsize(self) -> int:
        return self._q.qsize()

    def empty(self) -> bool:
        return self._q.empty()

    def full(self) -> bool:
        return self._q.full()

    @property
    def maxsize(self) -> int:
        return self._q.maxsize

    def shutdown(self, immediate: bool = False) -> None:
        self._q.shutdown(immediate)


class LifoQueue(Queue):
    _sync = _queue.LifoQueue


class PriorityQueue(Queue):
    _sync = _queue.PriorityQueue
