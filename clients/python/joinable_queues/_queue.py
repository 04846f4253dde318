"""queue.Queue's interface over the service: same methods, same exceptions, same blocking rules."""
from __future__ import annotations

import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import quote

from ._errors import QueueError
from ._http import Transport

_UNSET: Any = object()


def _check_json(value: Any, where: str = "item") -> None:
    """Refuses what JSON would silently change: a clear TypeError at put, never a different item at get."""
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{where} is {value}, which JSON cannot carry")
        return
    if isinstance(value, list):
        for i, v in enumerate(value):
            _check_json(v, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where} has the key {k!r}: JSON object keys are strings")
            _check_json(v, f"{where}[{k!r}]")
        return
    raise TypeError(
        f"{where} is a {type(value).__name__}, not a JSON value (dict, list, str, int, float, bool, None); "
        "pass serializer= to carry other objects"
    )


@dataclass
class Job:
    """One delivery of an item: ``done()`` completes exactly it; ``release()`` gives it back."""

    item: Any
    id: int
    receipt: Optional[str]
    deliveries: int
    priority: Any
    lease_expires_at: Optional[float]
    _queue: "Queue" = field(repr=False, compare=False)
    _thread: int = field(default=0, repr=False, compare=False)

    def done(self) -> None:
        self._queue._complete(self)

    def release(self, delay: float = 0) -> None:
        self._queue._release(self, delay)


class Queue:
    """A queue.Queue whose items live in the service. ``Queue(maxsize)`` creates a fresh, uniquely named queue;
    ``Queue(name="jobs")`` opens (or creates) the queue that other processes share by that name."""

    _order = "fifo"

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
    ) -> None:
        self._http = Transport(url, token)
        self.name = name or f"py-{uuid.uuid4().hex[:16]}"
        self._path = f"/v1/queues/{quote(self.name, safe='')}"
        self._dumps, self._loads = serializer or (None, None)
        self._lock = threading.Lock()
        self._held: List[Job] = []  # items this process took and has not task_done'd, oldest first
        self._heartbeat: Optional[threading.Thread] = None
        explicit = maxsize is not _UNSET
        config = {"maxsize": maxsize if explicit else 0, "order": self._order, "lease_seconds": lease_seconds, "max_deliveries": max_deliveries}
        try:
            stats = self._http.request("GET", self._path)
        except QueueError as e:
            if e.code != "not_found":
                raise
            stats = self._http.request("PUT", self._path, config)
        if stats["order"] != self._order or (explicit and stats["maxsize"] != maxsize):
            raise ValueError(
                f"the queue {self.name!r} exists as order={stats['order']!r}, maxsize={stats['maxsize']}; "
                f"asked for order={self._order!r}" + (f", maxsize={maxsize}" if explicit else "")
            )
        self._lease = stats["lease_seconds"]

    # ---- queue.Queue's interface

    def put(self, item: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        self._put([item], block, timeout)

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
        if job is None:
            self._http.request("POST", f"{self._path}/task_done", {})
        else:
            self._complete(job)

    def join(self, timeout: Optional[float] = None) -> bool:
        """Blocks until every item put has been task_done'd; True, or False if ``timeout`` passed first."""
        return bool(self._poll("join", {}, True, timeout)["drained"])

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
        self._http.request("PATCH", self._path, {"maxsize": value})

    @property
    def unfinished_tasks(self) -> int:
        return int(self.stats()["unfinished_tasks"])

    def shutdown(self, immediate: bool = False) -> None:
        self._http.request("POST", f"{self._path}/shutdown", {"immediate": immediate})

    # ---- beyond Python

    def stats(self) -> Dict[str, Any]:
        return self._http.request("GET", self._path)

    def put_many(self, items: List[Any], block: bool = True, timeout: Optional[float] = None) -> None:
        """Puts up to 100 items at once, all or nothing."""
        self._put(list(items), block, timeout)

    def get_job(self, block: bool = True, timeout: Optional[float] = None) -> Job:
        return self.get_many(1, block, timeout)[0]

    def get_many(self, max: int, block: bool = True, timeout: Optional[float] = None) -> List[Job]:
        """Up to ``max`` items (at least one), each its own Job."""
        answer = self._poll("get", {"max": max, "block": block}, block, timeout)
        jobs = [self._job(d) for d in answer["items"]]
        if jobs and jobs[0].receipt is not None:
            with self._lock:
                self._held.extend(jobs)
            self._keep_alive()
        return jobs

    def delete(self) -> None:
        """Deletes the queue and everything in it, for every process."""
        self._http.request("DELETE", self._path)

    # ---- the parts that differ between the three orders

    def _encode(self, item: Any) -> Dict[str, Any]:
        if self._dumps is not None:
            item = self._dumps(item)
        _check_json(item)
        return {"item": item}

    def _decode(self, value: Any) -> Any:
        return self._loads(value) if self._loads is not None else value

    # ---- plumbing

    def _put(self, items: List[Any], block: bool, timeout: Optional[float]) -> None:
        entries = [self._encode(i) for i in items]
        # One key for every attempt of this put: a retry after a lost answer never adds the items twice.
        self._poll("put", {"items": entries, "block": block}, block, timeout, {"idempotency-key": uuid.uuid4().hex})

    def _poll(self, verb: str, body: Dict[str, Any], block: bool, timeout: Optional[float], headers: Optional[Dict[str, str]] = None) -> Any:
        """Calls a verb that may wait, re-polling across the server's wait cap with what is left of ``timeout``."""
        if block and timeout is not None and timeout < 0:
            raise ValueError("'timeout' must be a non-negative number")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return self._http.request("POST", f"{self._path}/{verb}", {**body, "timeout": left}, headers)
            except QueueError as e:
                if e.code != "poll_again":
                    raise

    def _job(self, d: Dict[str, Any]) -> Job:
        return Job(self._decode(d["item"]), d["id"], d["receipt"], d["deliveries"], d["priority"], d["lease_expires_at"], self, threading.get_ident())

    def _pick(self) -> Optional[Job]:
        with self._lock:
            mine = [j for j in self._held if j._thread == threading.get_ident()]
            return (mine or self._held or [None])[0]

    def _complete(self, job: Job) -> None:
        self._forget(job)
        self._http.request("POST", f"{self._path}/task_done", {"receipt": job.receipt} if job.receipt else {})

    def _release(self, job: Job, delay: float) -> None:
        self._forget(job)
        self._http.request("POST", f"{self._path}/release", {"receipt": job.receipt, "delay": delay})

    def _forget(self, job: Job) -> None:
        with self._lock:
            if job in self._held:
                self._held.remove(job)

    def _keep_alive(self) -> None:
        """Starts the heartbeat: while this process holds an item, its lease is extended before half of it passes,
        so a slow but live consumer keeps its job and one killed loses it after one lease."""
        with self._lock:
            if self._heartbeat is None or not self._heartbeat.is_alive():
                self._heartbeat = threading.Thread(target=self._beat, name=f"joinable-queues heartbeat {self.name}", daemon=True)
                self._heartbeat.start()

    def _beat(self) -> None:
        while True:
            with self._lock:
                held = list(self._held)
            if not held:
                return
            now_ms = time.time() * 1000
            for job in held:
                if job.lease_expires_at is not None and job.lease_expires_at - now_ms < self._lease * 500:
                    try:
                        answer = self._http.request("POST", f"{self._path}/extend", {"receipt": job.receipt, "lease_seconds": self._lease})
                        job.lease_expires_at = answer["lease_expires_at"]
                    except QueueError:
                        self._forget(job)  # already completed, or lost: nothing left to keep alive
            time.sleep(min(1.0, self._lease / 4))


class LifoQueue(Queue):
    """The most recently put item first."""

    _order = "lifo"


class PriorityQueue(Queue):
    """The lowest item first, compared as Python compares it: ``put((priority, data))`` is the idiom.

    The item itself is sent as its priority key: numbers and strings, and tuples of them, element by element; the
    key stops at the first element that is neither (a dict, say), and equal keys are served first in, first out.
    A tuple travels as a JSON array and comes back as a tuple."""

    _order = "priority"

    def _encode(self, item: Any) -> Dict[str, Any]:
        entry = super()._encode(list(item) if isinstance(item, tuple) else item)
        entry["priority"] = _key(item)
        return entry

    def _decode(self, value: Any) -> Any:
        value = super()._decode(value)
        return tuple(value) if isinstance(value, list) else value


def _key(item: Any) -> Any:
    """The orderable prefix of an item: what Python's comparisons would look at."""
    if isinstance(item, bool):
        return int(item)
    if isinstance(item, (int, float, str)):
        return item
    if isinstance(item, (tuple, list)):
        key = []
        for element in item:
            k = _key(element)
            if k is None:
                break
            key.append(k)
        return key
    return None

