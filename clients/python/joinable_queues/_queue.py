"""queue.Queue's interface over the service: same methods, same exceptions, same blocking rules."""
from __future__ import annotations

import time
import types
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import quote

from . import _items, _socket
from ._deliveries import Deliveries, Job
from ._errors import QueueError
from ._group import Group
from ._http import Transport, Wait
from ._process import PerProcess

_UNSET: Any = object()
_BATCH = 100  # the most items one put carries (the service's batch; the TypeScript client's BATCH)
_SHORT = 1.0  # a get that may wait less than this is one HTTP call; a longer one waits on the socket


class Queue(Deliveries, PerProcess):
    """A queue.Queue whose items live in the service. ``Queue(maxsize)`` creates a fresh, uniquely named queue;
    ``Queue(name="jobs")`` opens (or creates) the queue that other processes share by that name.

    Pickled (as ``multiprocessing.Process(args=(q,))`` does under spawn and forkserver), a queue is a reference to
    the same service queue, and connects on first use where it is unpickled; a forked child does the same.

    With the ``websockets`` library installed, a get that waits does so on the queue's WebSocket, holding no HTTP
    request open; ``prefetch`` items are then kept ready ahead of the gets (0: none, queue.Queue's exact view of
    qsize). ``sockets=False`` stays on HTTP; ``sockets=True`` insists on the library. ``shards=n`` creates the
    queue over n objects (docs/shards.md): unbounded, ordered per shard and per ``put(shard_key=...)``.

    ``dispatch="fair"`` serves the groups in turn, by weight, instead of in the queue's order;
    ``group_max_in_flight=n`` caps each group's deliveries out at once; ``group_retention_seconds`` is how long a
    drained or cancelled group's stats stay readable. A queue opened by name is checked against what was given.

    ``retries``: how many times a call is retried after a transient failure (a network error, 408, 429, 5xx), with
    exponential backoff and full jitter; default JOINABLE_QUEUES_RETRIES, else 4. A call that waits counts the
    failures in a row: each answer of the service starts the count again."""

    _order = "fifo"
    __class_getitem__ = classmethod(types.GenericAlias)

    def __init__(
        self,
        maxsize: int = _UNSET,
        *,
        name: Optional[str] = None,
        url: Optional[str] = None,
        token: Optional[str] = None,
        lease_seconds: Optional[int] = 30,
        max_deliveries: Optional[int] = 10,
        serializer: Optional[Tuple[Callable[[Any], Any], Callable[[Any], Any]]] = None,
        prefetch: int = 0,
        sockets: Optional[bool] = None,
        shards: int = 1,
        retries: Optional[int] = None,
        dispatch: str = _UNSET,
        group_max_in_flight: Optional[int] = _UNSET,
        group_retention_seconds: int = _UNSET,
    ) -> None:
        if sockets and not _socket.AVAILABLE:
            raise ImportError('sockets=True needs the websockets library: pip install "joinable-queues[sockets]"')
        self._sockets = _socket.AVAILABLE if sockets is None else bool(sockets)
        self._prefetch = prefetch
        self._http = Transport(url, token, retries)
        self.name = name or f"py-{uuid.uuid4().hex[:16]}"
        self._path = f"/v1/queues/{quote(self.name, safe='')}"
        self._dumps, self._loads = serializer or (None, None)
        self._begin()
        explicit = maxsize is not _UNSET
        maxsize = max(0, maxsize) if explicit else 0  # as in CPython, any maxsize <= 0 is unbounded
        # What was asked: the queue is created with it, or, opened by name, must have it (as far as it was given).
        asked = {"order": self._order, "maxsize": maxsize if explicit else _UNSET, "shards": shards if shards != 1
                 else _UNSET, "dispatch": dispatch, "group_max_in_flight": group_max_in_flight,
                 "group_retention_seconds": group_retention_seconds}
        asked = {k: v for k, v in asked.items() if v is not _UNSET}
        config = {"maxsize": maxsize, "lease_seconds": lease_seconds, "max_deliveries": max_deliveries, **asked}
        try:  # a fresh name is created at once: one round trip
            stats = self._http.request("PUT" if name is None else "GET", self._path, config if name is None else None)
        except QueueError as e:
            if e.code != "not_found":
                raise
            stats = self._http.request("PUT", self._path, config)
        differ = [k for k, v in asked.items() if stats.get(k, 1 if k == "shards" else None) != v]
        if differ:
            raise ValueError(f"the queue {self.name!r} exists as "
                             + ", ".join(f"{k}={stats.get(k, 1 if k == 'shards' else None)!r}" for k in differ)
                             + "; asked for " + ", ".join(f"{k}={asked[k]!r}" for k in differ))
        self._lease = stats["lease_seconds"]
        self._opened = stats  # what the service answered here (the asyncio client's view starts from it)

    # ---- queue.Queue's interface

    def put(self, item: Any, block: bool = True, timeout: Optional[float] = None, *,
            group: Optional[str] = None, shard_key: Optional[str] = None) -> None:
        """queue.Queue's put; with ``group``, the item belongs to that group, which ``join(group=...)`` waits for;
        on a sharded queue, items with the same ``shard_key`` go to one shard, in order."""
        with self._in_flight():
            self._put([item], block, timeout, group=group, shard_key=shard_key)

    def put_nowait(self, item: Any) -> None:
        self.put(item, block=False)

    def get(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        return self.get_job(block, timeout).item

    def get_nowait(self) -> Any:
        return self.get(block=False)

    def task_done(self) -> None:
        """Completes the calling thread's oldest item, else this process's oldest, else (an item another process
        took) CPython's anonymous task_done."""
        job = self._pick()
        if job is None:  # a repeat would complete a second item: sent once, retried only if it never arrived
            self._http.request("POST", f"{self._path}/task_done", {}, safe=False)
        else:
            self._complete(job)

    def join(self, timeout: Optional[float] = None, *, group: Optional[str] = None) -> Optional[bool]:
        """Blocks until every item put has been task_done'd (with ``group``: every item of that group). With a
        ``timeout``: True, or False if it passed first."""
        body = {} if group is None else {"group": group}
        drained = bool(self._poll("join", body, timeout)["drained"])
        return None if timeout is None else drained

    def group(self, name: str) -> "Group":
        """One group of this queue: ``put``, ``put_many``, ``join`` and ``stats`` of its items only."""
        return Group(self, name)

    def qsize(self) -> int:
        return int(self.stats()["qsize"])

    def empty(self) -> bool:
        return bool(self.stats()["empty"])

    def full(self) -> bool:
        return bool(self.stats()["full"])

    @property
    def maxsize(self) -> int:
        return int(self.stats()["maxsize"])

    @maxsize.setter
    def maxsize(self, value: int) -> None:
        self._http.request("PATCH", self._path, {"maxsize": max(0, value)})

    @property
    def unfinished_tasks(self) -> int:
        return int(self.stats()["unfinished_tasks"])

    @property
    def is_shutdown(self) -> bool:
        return bool(self.stats()["shutdown"])

    def shutdown(self, immediate: bool = False) -> None:
        self._http.request("POST", f"{self._path}/shutdown", {"immediate": bool(immediate)})

    # ---- beyond Python

    def stats(self) -> Dict[str, Any]:
        return self._http.request("GET", self._path)

    def put_many(self, items: List[Any], block: bool = True, timeout: Optional[float] = None, *,
                 group: Optional[str] = None, shard_key: Optional[str] = None) -> None:
        """Puts many items, 100 to a request; each request is all or nothing, and ``timeout`` bounds them all.
        Batch ``start`` carries the key ``<key>:<start>``, as the TypeScript client's putMany sends it."""
        items = list(items)
        key = uuid.uuid4().hex
        deadline = None if timeout is None or not block else time.monotonic() + timeout
        with self._in_flight():
            for start in range(0, len(items), _BATCH):
                # The first batch takes the caller's timeout as it is, so a negative one is refused as put refuses it.
                left = timeout if deadline is None or start == 0 else max(0.0, deadline - time.monotonic())
                self._put(items[start : start + _BATCH], block, left, f"{key}:{start}", group, shard_key)

    def get_job(self, block: bool = True, timeout: Optional[float] = None) -> Job:
        """One delivery. A get that waits (without limit, or for a second or more) waits on the socket where there
        is one, and holds no HTTP request open; one that does not block takes a prefetched item first."""
        self._check_open()
        if block and timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        consumer = self._consumer()
        if consumer is not None and not block:
            ready = consumer.take()
            if ready is not None:
                return self._hold([self._job(ready)])[0]
        elif consumer is not None and (timeout is None or timeout >= _SHORT):
            deadline = None if timeout is None else time.monotonic() + timeout
            try:
                return self._hold([self._job(consumer.get(timeout))])[0]
            except _socket.Unavailable:
                timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        return self.get_many(1, block, timeout)[0]

    def get_many(self, max: int, block: bool = True, timeout: Optional[float] = None) -> List[Job]:
        """Up to ``max`` items (at least one), each its own Job."""
        self._check_open()
        answer = self._poll("get", {"max": max, "block": bool(block)}, timeout)
        return self._hold([self._job(d) for d in answer["items"]])

    def task_done_many(self, jobs: List[Job]) -> List[str]:
        """Completes many jobs, 100 to a request (one step each on the server), and answers each job's outcome in
        order: ``"done"``, ``"replayed"`` (completed before), ``"stale"`` (its lease ended) or ``"invalid"``."""
        outcomes: List[str] = []
        for start in range(0, len(jobs), 100):
            chunk = jobs[start : start + 100]
            if any(job.receipt is None for job in chunk):
                raise ValueError("a job without a receipt (its queue has no leases) cannot be completed by it")
            for job in chunk:
                self._forget(job)
            answer = self._http.request("POST", f"{self._path}/task_done", {"receipts": [j.receipt for j in chunk]})
            outcomes.extend(answer["results"])
        return outcomes

    def delete(self) -> None:
        """Deletes the queue and everything in it, for every process (the name can then be created anew)."""
        self._http.request("DELETE", self._path, landed=("not_found",))  # a retry finding none: the first landed

    # ---- the parts that differ between the three orders

    def _encode(self, item: Any) -> Dict[str, Any]:
        return {"item": _items.encode(self._dumps(item) if self._dumps is not None else item)}

    def _decode(self, value: Any) -> Any:
        value = _items.decode(value)
        return self._loads(value) if self._loads is not None else value

    # ---- plumbing

    def _put(self, items: List[Any], block: bool, timeout: Optional[float], key: Optional[str] = None,
             group: Optional[str] = None, shard_key: Optional[str] = None) -> None:
        entries = [self._encode(i) for i in items]
        # One key for every attempt of this put: a retry after a lost answer never adds the items twice.
        headers = {"idempotency-key": key or uuid.uuid4().hex}
        body: Dict[str, Any] = {"items": entries, "block": bool(block)}
        body.update({k: v for k, v in (("group", group), ("shard_key", shard_key)) if v is not None})
        self._poll("put", body, timeout, headers)

    def _poll(self, verb: str, body: Dict[str, Any], timeout: Optional[float],
              headers: Optional[Dict[str, str]] = None) -> Any:
        """Calls a verb that may wait, re-polling across the server's wait cap with what is left of ``timeout``.
        As in CPython, a call that does not block ignores ``timeout``, and one that blocks refuses a negative one."""
        block = body.get("block", True)
        if block and timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        deadline = None if timeout is None or not block else time.monotonic() + timeout
        # A get whose answer is lost leaves its delivery out for one lease, then the item comes back: safe to repeat.
        # Without leases the item would be gone for good, so such a get is retried only if it never arrived.
        extra = {} if verb != "get" or self._lease is not None else {"safe": False}
        while True:  # each poll counts its own failures: a wait survives a failure and goes on waiting
            try:
                return self._http.request("POST", f"{self._path}/{verb}", Wait(body, deadline), headers, **extra)
            except QueueError as e:
                if e.code != "poll_again":
                    raise


class LifoQueue(Queue):
    """The most recently put item first."""

    _order = "lifo"


class PriorityQueue(Queue):
    """The lowest item first, compared as Python compares it: ``put((priority, data))`` is the idiom.

    The item itself is sent as its priority key: numbers and strings, and tuples of them, element by element; the
    key stops at the first element that is neither (a dict, say) and where the service's index ends (see
    _items.priority_key), and equal keys are served first in, first out. The item's own tuple travels as a plain
    JSON array, as the key does, and an array comes back as a tuple."""

    _order = "priority"

    def _encode(self, item: Any) -> Dict[str, Any]:
        entry = super()._encode(list(item) if isinstance(item, tuple) else item)
        entry["priority"] = _items.priority_key(item)
        return entry

    def _decode(self, value: Any) -> Any:
        value = super()._decode(value)
        return tuple(value) if isinstance(value, list) else value
