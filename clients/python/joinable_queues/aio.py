"""asyncio.Queue's interface over the service (docs/python-asyncio.md): the same names, signatures, exceptions and
steps as asyncio's queues, waiting on native asyncio I/O.

The rule is asyncio's own. What asyncio.Queue does without suspending (put_nowait, get_nowait, task_done, qsize,
empty, full, shutdown, a put with room, a join with nothing unfinished) is done here without suspending: answered
locally where the client knows (an item already prefetched on the socket, a queue it saw shut down), else with one
short synchronous round trip on a kept-alive connection, which holds the loop as asyncio's own calls do for their
microseconds. What asyncio waits for (a get on an empty queue, a put on a full one, a join) waits here without holding
the loop and without a thread: on the queue's WebSocket when the websockets library is present, else on HTTP over
asyncio streams (_aio_session.py). Waiters are futures, so a cancelled one loses nothing.
"""
from __future__ import annotations

import asyncio
import contextlib
import math
import types
import uuid
from typing import Any, Dict, Iterator, List, Optional

from . import _queue, _socket
from ._aio_loops import PerLoop
from ._deliveries import Job
from ._errors import Empty, Full, QueueError, ShutDown

__all__ = ["Queue", "LifoQueue", "PriorityQueue", "QueueEmpty", "QueueFull", "QueueShutDown", "Group", "Job",
           "QueueError"]
_BATCH = 100  # the most items one put carries (the service's batch)


class QueueEmpty(asyncio.QueueEmpty, Empty):
    """asyncio.QueueEmpty (and joinable_queues.Empty): get_nowait() on an empty queue."""


class QueueFull(asyncio.QueueFull, Full):
    """asyncio.QueueFull (and joinable_queues.Full): put_nowait() on a full queue."""


# asyncio.QueueShutDown is Python 3.13's; before it, this class (a joinable_queues.ShutDown) stands in for it.
_SHUTDOWN = (asyncio.QueueShutDown, ShutDown) if hasattr(asyncio, "QueueShutDown") else (ShutDown,)


class QueueShutDown(*_SHUTDOWN):  # type: ignore[misc]
    """asyncio.QueueShutDown (and joinable_queues.ShutDown): a put on a shut-down queue, a get once it is empty."""


class Queue(PerLoop):
    """Mirrors asyncio.Queue: ``await put``, ``put_nowait``, ``await get``, ``get_nowait``, ``task_done()``,
    ``await join()``, ``shutdown()``, ``qsize()``, ``empty()``, ``full()``, ``maxsize``.

    ``Queue(maxsize)`` creates a fresh, uniquely named queue; ``Queue(name="jobs")`` opens the one other processes
    share. Other keyword arguments are joinable_queues.Queue's (``url``, ``token``, ``lease_seconds``,
    ``max_deliveries``, ``serializer``, ``shards``, ``retries``); ``prefetch=n`` keeps up to n items ready on the
    socket; ``sockets=False`` stays on HTTP. A float maxsize is taken as asyncio takes it (1.3 holds two items)."""

    _sync = _queue.Queue
    __class_getitem__ = classmethod(types.GenericAlias)

    def __init__(self, maxsize: float = _queue._UNSET, *, prefetch: int = 0, sockets: Optional[bool] = None,
                 **options: Any) -> None:
        if sockets and not _socket.AVAILABLE:
            raise ImportError('sockets=True needs the websockets library: pip install "joinable-queues[sockets]"')
        self._maxsize = maxsize
        size = maxsize if maxsize is _queue._UNSET else max(0, math.ceil(maxsize))
        self._q = self._sync(size, sockets=False, **options)  # creation, items and the synchronous HTTP calls
        self.name = self._q.name
        self._sockets = _socket.AVAILABLE if sockets is None else bool(sockets)
        self._prefetch = max(0, min(int(prefetch), 100))
        self._lease = self._q._lease
        self._begin_loops()

    # ---- asyncio.Queue's interface

    async def put(self, item: Any, *, group: Optional[str] = None, shard_key: Optional[str] = None) -> None:
        """Puts an item; with room, in this step (one round trip), else after waiting for room. Cancelled while it
        waits, it has put nothing, as asyncio's. ``group`` and ``shard_key`` as joinable_queues.Queue.put."""
        await self._put([item], uuid.uuid4().hex, group, shard_key)

    def put_nowait(self, item: Any, *, group: Optional[str] = None, shard_key: Optional[str] = None) -> None:
        if self._shut:
            raise QueueShutDown
        with self._errors():
            self._call(self._q._put, [item], False, None, None, group, shard_key)

    async def get(self) -> Any:
        return (await self.get_job()).item

    def get_nowait(self) -> Any:
        """An item prefetched on this loop's socket, without a round trip; else one asked for (QueueEmpty, or
        QueueShutDown once a shut-down queue is empty)."""
        session = self._current()
        if session is not None and session.ready:
            delivery = session.ready.popleft()[0]
            session.demand()
            return self._take(delivery, session).item
        return self._get_now().item

    def task_done(self) -> None:
        """Completes this loop's oldest item, else this process's oldest, else (an item another process took)
        CPython's anonymous task_done; ValueError when more are done than were put."""
        entry = self._pick()
        if entry is None:  # a repeat would complete a second item: sent once, retried only if it never arrived
            answer = self._call(self._q._http.request, "POST", f"{self._q._path}/task_done", {}, safe=False)
        else:
            answer = self._end(entry, "task_done", {})
        if answer and answer.get("unfinished_tasks") == 0:
            self._each(lambda s: s.joins.drained(None))

    async def join(self, timeout: Optional[float] = None, *, group: Optional[str] = None) -> Optional[bool]:
        """Returns once every item put has been task_done'd (with ``group``: every item of that group); at once,
        in this step, if nothing is unfinished now. With a ``timeout`` (beyond asyncio): True, or False."""
        if timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        body = {} if group is None else {"group": group}
        while True:
            await self._session().turn()
            if self._call(self._q._poll, "join", body, 0)["drained"]:
                drained: Optional[bool] = True
            else:
                drained = await self._session().joins.wait(group, timeout)
            if drained is not None:
                return None if timeout is None else drained

    def qsize(self) -> int:
        return int(self.stats()["qsize"])

    def empty(self) -> bool:
        return bool(self.stats()["empty"])

    def full(self) -> bool:
        return bool(self.stats()["full"])

    @property
    def maxsize(self) -> float:
        """The service's maxsize, or the one given here where they agree (a float, or a value <= 0)."""
        size = int(self.stats()["maxsize"])
        given = self._maxsize
        return given if given is not _queue._UNSET and max(0, math.ceil(given)) == size else size

    @maxsize.setter
    def maxsize(self, value: float) -> None:
        self._q.maxsize = max(0, math.ceil(value))
        self._maxsize = value

    def shutdown(self, immediate: bool = False) -> None:
        """asyncio's shutdown, for every process: waiting puts raise QueueShutDown, waiting gets take what is left
        and then raise it; ``immediate`` drains the queue, counting each drained item done."""
        body = {"immediate": bool(immediate)}
        answer = self._call(self._q._http.request, "POST", f"{self._q._path}/shutdown", body)
        self._shutdown_seen()
        if answer and answer.get("unfinished_tasks") == 0:
            self._each(lambda s: s.joins.drained(None))

    # ---- beyond asyncio

    async def get_job(self) -> Job:
        """One delivery, explicitly: ``job.done()`` completes exactly it, ``job.release(delay)`` gives it back."""
        while True:
            session = self._session()
            await session.turn()
            got = await session.get()
            if got is not None:
                return self._take(got[0], session)
            if self._shut or not session.closed:
                return self._get_now()  # shut down: what is left, at once, or QueueShutDown

    async def put_many(self, items: List[Any], *, group: Optional[str] = None,
                       shard_key: Optional[str] = None) -> None:
        """Puts many items, 100 to a request, each request all or nothing: as put, one step per batch that has room.
        Cancelled while it waits for room, the batches before have been put and the rest not."""
        items, key = list(items), uuid.uuid4().hex
        for start in range(0, len(items), _BATCH):
            await self._put(items[start : start + _BATCH], f"{key}:{start}", group, shard_key)

    def group(self, name: str) -> "Group":
        return Group(self, name)

    def stats(self) -> Dict[str, Any]:
        stats = self._call(self._q.stats)
        if stats.get("shutdown") and not self._shut:
            self._shutdown_seen()
        return stats

    @property
    def unfinished_tasks(self) -> int:
        return int(self.stats()["unfinished_tasks"])

    @property
    def is_shutdown(self) -> bool:
        return self._shut or bool(self.stats()["shutdown"])

    def delete(self) -> None:
        """Deletes the queue and everything in it, for every process."""
        self._q.delete()

    async def aclose(self) -> None:
        """Gives back the items prefetched on this loop, and closes its socket and connections (reopened if the queue
        is used again). Gets and puts waiting on this loop go on waiting, on new ones."""
        session = self._current()
        if session is not None:
            await session.aclose()

    async def __aenter__(self) -> "Queue":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} at {id(self):#x} {self._format()}>"

    def __str__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self._format()}>"

    def _format(self) -> str:
        """asyncio's: what this client knows without a round trip (the items themselves live in the service)."""
        result = f"maxsize={0 if self._maxsize is _queue._UNSET else self._maxsize!r}"
        result += f" _getters[{len(self._getters)}]" if self._getters else ""
        result += f" _putters[{len(self._putters)}]" if self._putters else ""
        return result + (" shutdown" if self._shut else "")

    @property
    def _getters(self) -> Any:
        """asyncio's deque of waiting gets (this loop's); empty outside a loop."""
        return self._session().getters if self._current_loop() else ()

    @property
    def _putters(self) -> Any:
        return self._session().putters if self._current_loop() else ()

    # ---- plumbing

    async def _put(self, items: List[Any], key: str, group: Optional[str], shard_key: Optional[str]) -> None:
        # One key for every attempt: a refused attempt stored nothing, and a repeat of one that landed is replayed.
        while True:
            await self._session().turn()
            if self._shut:
                raise QueueShutDown
            try:
                with self._errors():
                    self._call(self._q._put, items, False, None, key, group, shard_key)
                return
            except QueueFull:
                await self._session().room()

    def _get_now(self) -> Job:
        with self._errors():
            answer = self._call(self._q._poll, "get", {"max": 1, "block": False}, None)
        self._each(lambda s: s.wake(s.putters, 1))  # an item left: a put waiting for room tries again
        return self._take(answer["items"][0], self._current())

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """The client's exceptions as asyncio's classes (which are the client's too)."""
        try:
            yield
        except ShutDown:
            self._shutdown_seen()
            raise QueueShutDown from None
        except Full:
            raise QueueFull from None
        except Empty:
            raise QueueEmpty from None


class LifoQueue(Queue):
    """The most recently put item first."""

    _sync = _queue.LifoQueue


class PriorityQueue(Queue):
    """The lowest item first, compared as Python compares it (joinable_queues.PriorityQueue's rules)."""

    _sync = _queue.PriorityQueue


class Group:
    """One group of a queue's items (joinable_queues.Group, asyncio's way): ``await put``, ``put_nowait``,
    ``await put_many``, ``await join``, ``stats()``, ``unfinished_tasks``."""

    def __init__(self, queue: Queue, name: str) -> None:
        self.queue, self.name = queue, name

    async def put(self, item: Any) -> None:
        await self.queue.put(item, group=self.name)

    def put_nowait(self, item: Any) -> None:
        self.queue.put_nowait(item, group=self.name)

    async def put_many(self, items: List[Any]) -> None:
        await self.queue.put_many(items, group=self.name)

    async def join(self, timeout: Optional[float] = None) -> Optional[bool]:
        return await self.queue.join(timeout, group=self.name)

    def stats(self) -> Dict[str, Any]:
        return self.queue._call(self.queue._q.group(self.name).stats)

    @property
    def unfinished_tasks(self) -> int:
        return int(self.stats()["unfinished_tasks"])
