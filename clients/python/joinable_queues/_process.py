"""A queue object's life in one process: what pickling carries, what a forked child starts anew, and
multiprocessing.Queue's close() and join_thread(), which concern this process's puts and gets alone."""
from __future__ import annotations

import contextlib
import os
import threading
import weakref
from typing import Any, Dict, Iterator, List, Optional

from . import _socket
from ._deliveries import Job
from ._http import Transport

# What a process that unpickles a queue, or a forked child, starts anew (as multiprocessing's queues do after fork).
_PER_PROCESS = ("_lock", "_held", "_heartbeat", "_socket", "_closed", "_putting", "_flushed", "_join_cancelled",
                "_opened")
_live: "weakref.WeakSet[PerProcess]" = weakref.WeakSet()
_orphans: List[Any] = []  # a forked child's copies of its parent's sockets: kept, never closed, never used


class PerProcess:
    """Queue's per-process part, a base of Queue: the rest of its state (the Transport among it) is what pickles."""

    def __getstate__(self) -> Dict[str, Any]:
        """The reference: URL, token, name and settings. The items this process holds stay its own."""
        state = {k: v for k, v in self.__dict__.items() if k not in _PER_PROCESS}
        state["_http"] = (self._http.url, self._http.token, self._http.retries)
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state, _http=Transport(*state["_http"]))
        self._begin()

    def _begin(self) -> None:
        """This process's own part of the queue; its connections are the Transport's, one per thread."""
        self._lock = threading.Lock()
        self._held: List[Job] = []  # items this process took and has not task_done'd, oldest first
        self._heartbeat: Optional[threading.Thread] = None
        self._socket: Optional[_socket.SocketConsumer] = None  # opened by the first get that waits
        self._closed = False  # multiprocessing's close(): no more put or get from this process
        self._putting = 0  # puts under way in this process's threads, which join_thread() waits for
        self._flushed = threading.Condition(self._lock)
        self._join_cancelled = False
        _live.add(self)

    # ---- multiprocessing.Queue's process-side calls

    def close(self) -> None:
        """No more put or get from this process (they raise ValueError); task_done and join still work. Prefetched
        items go back to the queue, and the socket closes once this process holds nothing."""
        with self._lock:
            self._closed = True
            consumer = self._socket
        if consumer is not None:
            consumer.close()

    def join_thread(self) -> None:
        """After close(): waits until the puts other threads of this process have under way are acknowledged (here
        they are the data a feeder thread would still be flushing), unless cancel_join_thread() was called."""
        assert self._closed, f"Queue {self!r} not closed"
        with self._flushed:
            while self._putting and not self._join_cancelled:
                self._flushed.wait()

    def cancel_join_thread(self) -> None:
        """join_thread() returns at once from now on, puts under way or not."""
        with self._flushed:
            self._join_cancelled = True
            self._flushed.notify_all()

    # ---- what close() stops and join_thread() waits for: this process's puts and gets

    @contextlib.contextmanager
    def _in_flight(self) -> Iterator[None]:
        with self._flushed:
            self._check_open()
            self._putting += 1
        try:
            yield
        finally:
            with self._flushed:
                self._putting -= 1
                self._flushed.notify_all()

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"Queue {self!r} is closed")


def _after_fork_in_child() -> None:
    """A forked child has copies of the parent's queues, whose kept-alive sockets would answer both processes and
    whose held items are the parent's to complete: each copy starts anew, as if unpickled. The copy of a WebSocket
    (whose loop thread did not survive the fork) is kept unused, so that nothing in the child ever closes it."""
    for q in list(_live):
        _orphans.append(q.__dict__.get("_socket"))
        q.__setstate__(q.__getstate__())


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
