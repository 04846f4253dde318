"""A queue's part on one event loop that is about the loop itself, a base of the session (_aio_session.py): tasks
that end with the loop, the lease heartbeat, and how long the client's synchronous round trips have held the loop."""
from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Deque, Dict, Optional, Set

from ._aio_http import AsyncTransport
from ._errors import QueueError

if TYPE_CHECKING:  # for annotations only: aio imports the session, which imports this module
    from .aio import Queue

# The longest the client's own round trips hold the loop before an awaited call lets it run: a producer putting a
# thousand items into an unbounded queue never suspends in asyncio (each put has room), which is harmless in memory
# and starves every other task for minutes over a network (the lease heartbeat; the socket's reader, whose library
# closes a socket whose pong it has not read within 20 s). It then suspends for a fifth of that: long enough for work
# that takes several steps (frames read, round trips) to go forward, not a single step as sleep(0) gives.
HOLD = 0.5
EXTENDING = 8  # lease extensions under way at once (each on a connection of its own)


class OnLoop:
    def __init__(self, queue: "Queue", loop: asyncio.AbstractEventLoop) -> None:
        self.q, self.loop, self.path = queue, loop, queue._q._path
        self.http = AsyncTransport(queue._q._http)
        self.tasks: Dict[str, asyncio.Task] = {}
        self.spawned: Set[asyncio.Future] = set()
        self.closed = False
        self.holding: Optional[float] = None  # since when this client's round trips hold the loop (None: it turned)
        self.start("ward", self._ward)

    # ---- the loop held by synchronous round trips

    def hold(self) -> None:
        """A round trip is about to hold the loop; the first since the loop last turned starts the count."""
        if self.holding is None:
            self.holding = time.monotonic()
            self.loop.call_soon(self._turned)

    def _turned(self) -> None:
        self.holding = None

    async def turn(self) -> None:
        """Lets the loop run a while if this client's round trips have held it for HOLD seconds without a turn."""
        if self.holding is not None and time.monotonic() - self.holding > HOLD:
            await asyncio.sleep(HOLD / 5)

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
        """Waits as long as the loop runs: when it ends (asyncio.run cancels every task), the socket and connections
        close at once, instead of being left to the garbage collector."""
        try:
            await self.loop.create_future()
        finally:
            self.closed = True
            self.ended()
            for _, writer in self.http._idle:
                writer.close()

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
            job.lease_expires_at = (await self.http.request("POST", f"{self.path}/extend", body))["lease_expires_at"]
        except QueueError as e:
            if not (e.status == 0 or e.status >= 500 or e.status in (408, 429)):
                self.q._forget(job)  # completed meanwhile, or lost: nothing left to keep alive
