"""asyncio.Queue's interface over the service (docs/python-asyncio.md): the same names, signatures and exceptions as
asyncio's queues, on native asyncio I/O, and no call that holds the event loop on the network.

What asyncio does without suspending, this client does without suspending where it can know the answer here: a put
with room (room as this loop's view of the counts shows it; always, on an unbounded queue) is taken at once and sent in
the background, in order (_aio_outbox.py), as are put_nowait, task_done and shutdown; get_nowait takes an item already
on this loop (prefetched, or come for a get that gave up), else raises QueueEmpty; qsize, empty and full read the view
(_aio_view.py). What needs the service's answer waits without holding the loop and without a thread: a get, a put
without room, a join (after what was sent before it). Where no event loop runs in the calling thread, the sync methods
are the threaded client's, one round trip each. Waiters are futures, so a cancelled one loses nothing.
"""
from __future__ import annotations

import asyncio
import contextlib
import math
import time
import types
import uuid
from typing import Any, Callable, Dict, Iterator, List, Optional

from . import _queue, _socket
from ._aio_group import Group
from ._aio_loops import PerLoop
from ._aio_outbox import CAP
from ._aio_session import Session
from ._aio_view import View
from ._deliveries import Job
from ._errors import Empty, Full, GroupCancelled, QueueError, SendError, ShutDown

__all__ = ["Queue", "LifoQueue", "PriorityQueue", "QueueEmpty", "QueueFull", "QueueShutDown", "Group", "Job",
           "QueueError", "SendError", "GroupCancelled"]
_BATCH = 100  # the most items one put carries (the service's batch)


class QueueEmpty(asyncio.QueueEmpty, Empty):
    """asyncio.QueueEmpty (and joinable_queues.Empty): get_nowait() with no item on this loop."""


class QueueFull(asyncio.QueueFull, Full):
    """asyncio.QueueFull (and joinable_queues.Full): put_nowait() on a queue this loop sees full."""


# asyncio.QueueShutDown is Python 3.13's; before it, this class (a joinable_queues.ShutDown) stands in for it.
_SHUTDOWN = (asyncio.QueueShutDown, ShutDown) if hasattr(asyncio, "QueueShutDown") else (ShutDown,)


class QueueShutDown(*_SHUTDOWN):  # type: ignore[misc]
    """asyncio.QueueShutDown (and joinable_queues.ShutDown): a put on a shut-down queue, a get once it is empty."""


class Queue(PerLoop):
    """Mirrors asyncio.Queue: ``await put``, ``put_nowait``, ``await get``, ``get_nowait``, ``task_done()``,
    ``await join()``, ``shutdown()``, ``qsize()``, ``empty()``, ``full()``, ``maxsize``.

    ``Queue(maxsize)`` creates a fresh, uniquely named queue; ``Queue(name="jobs")`` opens the one other processes
    share (one round trip, here). Other keyword arguments are joinable_queues.Queue's (``url``, ``token``,
    ``lease_seconds``, ``max_deliveries``, ``serializer``, ``shards``, ``retries``); ``prefetch=n`` keeps up to n items
    ready on this loop; ``sockets=False`` stays on HTTP. A float maxsize is taken as asyncio takes it (1.3 holds two).

    Calls that return before the service answers them raise a failure later: SendError, from the loop's next call."""

    _sync = _queue.Queue
    __class_getitem__ = classmethod(types.GenericAlias)

    def __init__(self, maxsize: float = _queue._UNSET, *, prefetch: int = 0, sockets: Optional[bool] = None,
                 **options: Any) -> None:
        if sockets and not _socket.AVAILABLE:
            raise ImportError('sockets=True needs the websockets library: pip install "joinable-queues[sockets]"')
        self._maxsize = maxsize
        size = maxsize if maxsize is _queue._UNSET else max(0, math.ceil(maxsize))
        self._q = self._sync(size, sockets=False, **options)  # creation, items, and the calls where no loop runs
        self._q._http._drop()  # (its connection, kept for this thread, is not kept: a loop uses connections of its own)
        self.name = self._q.name
        self._sockets = _socket.AVAILABLE if sockets is None else bool(sockets)
        self._prefetch = max(0, min(int(prefetch), 100))
        self._lease = self._q._lease
        self._sharded = self._q._opened.get("shards", 1) > 1
        self._begin_loops(dict(self._q._opened))

    # ---- asyncio.Queue's interface

    async def put(self, item: Any, *, group: Optional[str] = None, shard_key: Optional[str] = None) -> None:
        """Puts an item: without suspending when this loop sees room (always, on an unbounded queue), sent in the
        background; else once there is room. Cancelled while it waits, it has put nothing, as asyncio's. ``group``
        and ``shard_key`` as joinable_queues.Queue.put."""
        await self._put([item], uuid.uuid4().hex, group, shard_key)

    def put_nowait(self, item: Any, *, group: Optional[str] = None, shard_key: Optional[str] = None) -> None:
        """Takes the item at once, sent in the background: QueueFull if this loop sees the queue full, QueueShutDown
        once shut down. Where no loop runs, one round trip."""
        session = self._here()
        if session is None:
            if self._shut:
                raise QueueShutDown
            with self._errors():
                self._q._put([item], False, None, None, group, shard_key)
            return
        entries = [self._q._encode(item)]
        session.outbox.check()
        self._check_group(group)
        if session.view.shutdown:
            raise QueueShutDown
        if not session.view.room(1):
            raise QueueFull
        session.outbox.put(entries, [item], group, shard_key, uuid.uuid4().hex)

    async def get(self) -> Any:
        return (await self.get_job()).item

    def get_nowait(self) -> Any:
        """An item already on this loop (prefetched on the socket, or come for a get that gave up), without a round
        trip; else QueueEmpty, or QueueShutDown once this loop sees the queue shut down and empty. Where no loop
        runs, one round trip."""
        session = self._here()
        if session is None:
            return self._get_here().item
        session.outbox.check()
        if session.ready:
            delivery = session.ready.popleft()[0]
            session.demand()
            return self._take(delivery, session).item
        if session.view.shutdown and session.view.size() == 0:
            raise QueueShutDown
        raise QueueEmpty

    def task_done(self) -> None:
        """Completes this loop's oldest item, else this process's oldest, else (an item another process took)
        CPython's anonymous task_done: sent in the background. ValueError when this loop sees nothing unfinished."""
        entry = self._pick()
        if entry is not None:
            self._end(entry, "task_done")
            return
        session = self._here()
        if session is None:  # a repeat would complete a second item: sent once, retried only if it never arrived
            answer = self._q._http.request("POST", f"{self._q._path}/task_done", {}, safe=False)
            if answer and answer.get("unfinished_tasks") == 0:
                self._each(lambda s: s.joins.drained(None))
            return
        session.outbox.check()
        if session.view.unfinished_tasks() <= 0:
            raise ValueError("task_done() called too many times")
        session.outbox.anonymous()

    async def join(self, timeout: Optional[float] = None, *, group: Optional[str] = None) -> Optional[bool]:
        """Returns once every item put has been task_done'd (with ``group``: every item of that group), asked of the
        service after what this loop sent before the join has been answered. With a ``timeout`` (beyond asyncio):
        True, or False."""
        if timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        deadline = None if timeout is None else time.monotonic() + timeout
        session = self._session()
        session.outbox.check()
        mark = session.outbox.begun  # an answer to a request sent after this saw the count at 0 after the join began
        if session.outbox.ops:
            try:
                await asyncio.wait_for(session.outbox.flush(), timeout)
            except asyncio.TimeoutError:
                return False
        session.outbox.check()
        if group is None and session.outbox.zero > mark:
            return None if timeout is None else True
        body = {} if group is None else {"group": group}
        while deadline is not None:  # a join with a timeout is one long poll of its own (its timeout, the service's)
            left = max(0.0, deadline - time.monotonic())
            try:
                answer = await self._session().http.request("POST", f"{self._q._path}/join", {**body, "timeout": left})
                return bool(answer["drained"])
            except QueueError as e:
                if e.code != "poll_again":
                    raise
        while True:
            drained = await self._session().joins.wait(group, None)
            if drained is not None:
                return None

    def qsize(self) -> int:
        """The items in the queue, as this loop sees them: the service's last answer, moved by this loop's calls
        since (fresh stats are asked for in the background when that answer is older than 0.1 s)."""
        return int(self._count("qsize", View.size))

    def empty(self) -> bool:
        return self.qsize() == 0

    def full(self) -> bool:
        return bool(self._count("full", View.full))

    @property
    def maxsize(self) -> float:
        """The service's maxsize, or the one given here where they agree (a float, or a value <= 0)."""
        size = int(self._count("maxsize", lambda view: view.maxsize))
        given = self._maxsize
        return given if given is not _queue._UNSET and max(0, math.ceil(given)) == size else size

    @maxsize.setter
    def maxsize(self, value: float) -> None:
        size = max(0, math.ceil(value))
        session = self._here()
        if session is None:
            self._q.maxsize = size
        else:
            session.outbox.maxsize(size)
            session.wake_putters()  # room, if it grew
        self._maxsize = value

    def shutdown(self, immediate: bool = False) -> None:
        """asyncio's shutdown, for every process, sent in the background: puts raise QueueShutDown at once, gets
        take what is left and then raise it; ``immediate`` drains the queue, counting each drained item done."""
        session = self._here()
        if session is None:
            answer = self._q._http.request("POST", f"{self._q._path}/shutdown", {"immediate": bool(immediate)})
            self._shutdown_seen()
            if answer and answer.get("unfinished_tasks") == 0 and not self._sharded:  # (a shard answers its own)
                self._each(lambda s: s.joins.drained(None))
            return
        session.outbox.shutdown(bool(immediate))
        session.shut()

    # ---- beyond asyncio

    async def get_job(self) -> Job:
        """One delivery, explicitly: ``job.done()`` completes exactly it, ``job.release(delay)`` gives it back."""
        while True:
            session = self._session()
            session.outbox.check()
            if (self._shut or session.view.shutdown) and not session.ready:
                return await self._get_shut(session)
            got = await session.get()
            if got is not None:
                return self._take(got[0], session)

    async def put_many(self, items: List[Any], *, group: Optional[str] = None,
                       shard_key: Optional[str] = None) -> None:
        """Puts many items, 100 to a request, each request all or nothing: as put, taken at once batch by batch
        while this loop sees room. Cancelled while it waits for room, the batches before are put and the rest not."""
        items, key = list(items), uuid.uuid4().hex
        for start in range(0, len(items), _BATCH):
            await self._put(items[start : start + _BATCH], f"{key}:{start}", group, shard_key)

    def group(self, name: str) -> "Group":
        return Group(self, name)

    async def stats(self) -> Dict[str, Any]:
        """The service's stats (one round trip); they refresh this loop's view too."""
        session = self._session()
        stats, quiet = await session.read_stats()
        session.on_stats(stats, quiet)
        return stats

    @property
    def unfinished_tasks(self) -> int:
        """As this loop sees it (see qsize)."""
        return int(self._count("unfinished_tasks", View.unfinished_tasks))

    @property
    def is_shutdown(self) -> bool:
        return self._shut or bool(self._count("shutdown", lambda view: view.shutdown))

    async def delete(self) -> None:
        """Deletes the queue and everything in it, for every process."""
        await self._session().http.request("DELETE", self._q._path, landed=("not_found",))

    async def aclose(self) -> None:
        """Sends what this loop's calls left to send, gives back the items prefetched on it, and closes its socket and
        connections (reopened if the queue is used again); then raises a failure of what was sent, if any. Gets and
        puts waiting on this loop go on waiting, on new ones."""
        session = self._current()
        if session is not None:
            await session.aclose()
            session.outbox.check()

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
        shut = self._shut or (self._current() is not None and self._current().view.shutdown)  # type: ignore[union-attr]
        return result + (" shutdown" if shut else "")

    @property
    def _getters(self) -> Any:
        """asyncio's deque of waiting gets (this loop's); empty outside a loop."""
        return self._session().getters if self._current_loop() else ()

    @property
    def _putters(self) -> Any:
        return self._session().putters if self._current_loop() else ()

    # ---- plumbing

    def _count(self, name: str, read: Callable[[View], Any]) -> Any:
        """``read(view)`` of this loop's view, which asks for fresh stats in the background when old; where no loop
        runs, the service's stats[name]."""
        session = self._here()
        if session is None:
            return self._q.stats()[name]
        if session.view.stale():
            session.refresh()
        return read(session.view)

    async def _put(self, items: List[Any], key: str, group: Optional[str], shard_key: Optional[str]) -> None:
        entries = [self._q._encode(item) for item in items]  # an item that cannot travel raises here
        while True:
            session = self._session()
            session.outbox.check()
            self._check_group(group)
            if session.view.shutdown:
                raise QueueShutDown
            if session.outbox.items >= CAP:
                await session.outbox.below(CAP)  # the sending catches up first (nothing was taken: cancellable)
            elif session.view.room(len(items)):
                session.outbox.put(entries, items, group, shard_key, key)
                return
            else:
                await session.room()

    async def _get_shut(self, session: Session) -> Job:
        """A get on a queue shut down: what is left, asked once what this loop sent before (its own shutdown, its
        puts) has been answered; QueueShutDown when nothing is."""
        await session.outbox.flush()
        session.outbox.check()
        got = await session.get() if session.ready else None
        if got is not None:
            return self._take(got[0], session)
        if session.view.since_shutdown and session.view.size() == 0:
            raise QueueShutDown  # (the service's counts after it shut down: nothing is left to get)
        try:
            body = {"max": 1, "block": False}
            answer = await session.http.request("POST", f"{self._q._path}/get", body, safe=self._lease is not None)
        except (ShutDown, Empty):
            self._shutdown_seen()
            raise QueueShutDown from None
        session.received += 1
        session.view.taken()
        return self._take(answer["items"][0], session)

    def _check_group(self, group: Optional[str]) -> None:
        """A put naming a group this process knows was cancelled raises at once, as the service would."""
        if group is not None and group in self._cancelled:
            raise GroupCancelled("group_cancelled", 410, f"the group {group!r} was cancelled: it takes no more items")

    def _get_here(self) -> Job:
        """get_nowait where no loop runs: the threaded client's, one round trip."""
        with self._errors():
            answer = self._q._poll("get", {"max": 1, "block": False}, None)
        self._each(lambda s: s.wake(s.putters, 1))  # an item left: a put waiting for room tries again
        return self._take(answer["items"][0], None)

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
