"""The joins waiting on one event loop, once what the loop sent before them has been answered (aio.py).

Joins that begin in the same step share one generation: one socket join subscription (the service's "joined" comes
the moment the count is 0), or without a socket, one HTTP long poll. A generation is asked for after its joins began,
so it never answers for a drain that came before them. The client's own task_done or shutdown that answers
``unfinished_tasks: 0`` wakes the queue's joins at once, as asyncio's task_done sets its event.
"""
from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from ._errors import QueueError

if TYPE_CHECKING:
    from ._aio_session import Session

_MAX_SUBSCRIPTIONS = 32  # join subscriptions the service lets one socket hold
_ids = itertools.count(1)


def _settle(waiter: asyncio.Future, value: Optional[bool]) -> None:
    if not waiter.done():
        waiter.set_result(value)


class _Generation:
    def __init__(self, group: Optional[str]) -> None:
        self.group = group
        self.id = f"j{next(_ids)}"
        self.waiters: List[asyncio.Future] = []  # result True: drained; None: ask again (the session closed)
        self.on_socket = False
        self.task: Optional[asyncio.Task] = None

    def live(self) -> bool:
        return any(not w.done() for w in self.waiters)


class Joins:
    def __init__(self, session: "Session") -> None:
        self.s = session
        self.fresh: Dict[Optional[str], _Generation] = {}  # begun this step, not asked for yet
        self.live: Dict[str, _Generation] = {}  # asked for, on the socket or by a poll

    async def wait(self, group: Optional[str], timeout: Optional[float]) -> Optional[bool]:
        """True once drained, False when ``timeout`` passed first, None to check again (the session closed)."""
        gen = self.fresh.get(group)
        if gen is None:
            gen = self.fresh[group] = _Generation(group)
            self.s.loop.call_soon(self._ask, gen)  # at the end of this step: the joins begun in it share it
        waiter = self.s.loop.create_future()
        gen.waiters.append(waiter)
        # Awaited directly (not through asyncio.wait), so that a drain wakes the join in the very next step.
        timer = None if timeout is None else self.s.loop.call_later(timeout, _settle, waiter, False)
        try:
            return await waiter
        finally:
            if timer is not None:
                timer.cancel()
            waiter.cancel()
            gen.waiters.remove(waiter)
            if not gen.live():
                self._end(gen)

    def _ask(self, gen: _Generation) -> None:
        if self.fresh.get(gen.group) is gen:
            del self.fresh[gen.group]
        if gen.live() and not self.s.closed:
            self.live[gen.id] = gen
            self._route(gen)

    def _route(self, gen: _Generation) -> None:
        sock = self.s.sock
        if sock is not None and not sock.gone:
            if not sock.open:
                sock.connect(self.s.reconnected)  # resend() asks for it once the attempt ended
                return
            subscribed = sum(1 for g in self.live.values() if g.on_socket)
            if subscribed < _MAX_SUBSCRIPTIONS:
                frame = {"op": "join", "id": gen.id, **({"group": gen.group} if gen.group is not None else {})}
                gen.on_socket = sock.send(frame)
                if gen.on_socket:
                    return
        if gen.task is None or gen.task.done():
            gen.task = self.s.loop.create_task(self._poll(gen))

    async def _poll(self, gen: _Generation) -> None:
        body = {} if gen.group is None else {"group": gen.group}
        while gen.id in self.live:
            try:
                answer = await self.s.http.request("POST", f"{self.s.path}/join", {**body, "timeout": None})
            except QueueError as e:
                if e.code == "poll_again":
                    continue  # the service's 20 s cap: not drained yet
                for waiter in gen.waiters:
                    if not waiter.done():
                        waiter.set_exception(e)
                return
            if answer.get("drained"):
                self._fire(gen, True)
                return

    def _fire(self, gen: _Generation, value: Optional[bool]) -> None:
        for waiter in gen.waiters:
            _settle(waiter, value)
        self._end(gen)

    def _end(self, gen: _Generation) -> None:
        if self.live.pop(gen.id, None) is None:
            return
        if gen.on_socket and self.s.sock is not None:
            self.s.sock.send({"op": "unjoin", "id": gen.id})  # a no-op if it has answered
        if gen.task is not None and gen.task is not asyncio.current_task():
            gen.task.cancel()

    def joined(self, gen_id: Any) -> None:
        gen = self.live.get(gen_id) if isinstance(gen_id, str) else None
        if gen is not None:
            gen.on_socket = False  # answered once: nothing to unjoin
            self._fire(gen, True)

    def drained(self, group: Optional[str]) -> None:
        """This client saw the count of ``group`` at 0, after every join waiting here began; None: the queue's, and
        so every group's."""
        for gen in [*self.live.values(), *self.fresh.values()]:
            if group is None or gen.group == group:
                self._fire(gen, True)  # a fresh one is then dropped by _ask: nobody waits on it

    def refused(self, gen_id: str) -> None:
        """The socket refused a subscription (its cap of 32, say): a long poll asks instead."""
        gen = self.live.get(gen_id)
        if gen is not None:
            gen.on_socket = False
            self._route(gen)

    def dropped(self) -> None:
        for gen in self.live.values():
            gen.on_socket = False  # asked again by resend(), on the next socket or by a poll

    def resend(self) -> None:
        for gen in list(self.live.values()):
            if not gen.on_socket and (gen.task is None or gen.task.done()):
                self._route(gen)

    def close(self) -> None:
        for gen in [*self.live.values(), *self.fresh.values()]:
            self._fire(gen, None)
        self.fresh.clear()
