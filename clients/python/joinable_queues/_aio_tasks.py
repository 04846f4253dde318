"""A queue's part on one event loop that is about the loop itself, a base of the session (_aio_session.py): tasks
that end with the loop (the last of which sends what the loop's calls left to send), and the lease heartbeat."""
from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Deque, Dict, Set

from ._aio_http import AsyncTransport
from ._errors import QueueError

if TYPE_CHECKING:  # for annotations only: aio imports the session, which imports this module
    from .aio import Queue

# How long the end of the loop waits for what its calls left to send (a service out of reach is retried meanwhile).
LAST_SEND_SECONDS = 60.0
EXTENDING = 8  # lease extensions under way at once (each on a connection of its own)


class OnLoop:
    def __init__(self, queue: "Queue", loop: asyncio.AbstractEventLoop) -> None:
        self.q, self.loop, self.path = queue, loop, queue._q._path
        self.http = AsyncTransport(queue._q._http)
        self.tasks: Dict[str, asyncio.Task] = {}
        self.spawned: Set[asyncio.Future] = set()
        self.closed = False
        self.start("ward", self._ward)

    # ---- tasks

    def start(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        """Runs ``run()`` as the session's task ``name``, unless it runs already."""
        task = self.tasks.get(name)
        if (task is None or task.done()) and not self.closed:
            self.tasks[name] = self.loop.create_task(run())  # type: ignore[arg-type]

    def spawn(self, call: Awaitable[Any]) -> None:
        """A call whose answer nobody awaits (a release): kept referenced until done, its failure ignored."""
        task = asyncio.ensure_future(call)
        self.spawned.add(task)
        task.add_done_callback(lambda t: (self.spawned.discard(t), t.cancelled() or t.exception()))

    async def _ward(self) -> None:
        """Waits as long as the loop runs: when it ends (asyncio.run cancels every task), what the loop's calls left to
        send is sent, then the socket and connections close at once, instead of being left to the garbage collector.
        (The socket closes last: a task_done still to send for a delivery it holds would otherwise find it gone.)"""
        try:
            await self.loop.create_future()
        finally:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(self.last_words(), LAST_SEND_SECONDS)
            self.closed = True
            self.ended()
            for _, writer in self.http._idle:
                writer.close()

    async def last_words(self) -> None:
        """The loop is ending: what the subclass must still send."""

    def ended(self) -> None:
        """The loop is ending: what the subclass must close at once."""

    def extend_on_socket(self, job: Any, lease: int) -> bool:
        """Extends a delivery with a socket frame, whose answer comes later; False: over HTTP."""
        return False

    @staticmethod
    def wake(waiters: Deque[asyncio.Future], n: int = 1, value: Any = None) -> int:
        """Wakes the ``n`` oldest waiters still waiting; answers how many."""
        woken = 0
        while waiters and woken < n:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(value)
                woken += 1
        return woken

    # ---- held deliveries

    def keep_alive(self) -> None:
        if self.q._lease is not None:
            self.start("beat", self._beat)

    async def _beat(self) -> None:
        """While this loop holds deliveries, their leases are extended before half of them passes, so a slow but live
        consumer keeps its item and a dead one loses it after one lease. A loop may hold hundreds (tasks that each took
        an item): they are extended EXTENDING at a time, not one round trip after another."""
        lease = self.q._lease
        while not self.closed:
            mine = self.q._held_by(self)  # type: ignore[arg-type]
            if not mine:
                return
            soon = time.time() * 1000 + lease * 500
            due = [job for job in mine if job.lease_expires_at is not None and job.lease_expires_at < soon]
            due = [job for job in due if not self.extend_on_socket(job, lease)]
            for start in range(0, len(due), EXTENDING):
                await asyncio.gather(*(self._extend(job, lease) for job in due[start : start + EXTENDING]))
            await asyncio.sleep(min(1.0, lease / 4))

    async def _extend(self, job: Any, lease: int) -> None:
        try:
            body = {"receipt": job.receipt, "lease_seconds": lease}
            answer = await self.http.request("POST", f"{self.path}/extend", body)
            job.lease_expires_at = answer["lease_expires_at"]
            job.cancelled = job.cancelled or bool(answer.get("cancelled"))  # its group was cancelled
        except QueueError as e:
            if not (e.status == 0 or e.status >= 500 or e.status in (408, 429)):
                self.q._forget(job)  # completed meanwhile, or lost: nothing left to keep alive
