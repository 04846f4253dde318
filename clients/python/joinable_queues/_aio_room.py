"""The part of one event loop's session that is about room and counts, a base of the session (_aio_session.py): puts
waiting for room, and the stats that wake them and keep the loop's view (_aio_view.py) up to date. On the socket the
stats are a `watch` (at most one frame per 100 ms, in order with the socket's deliveries); over HTTP a read now and
then. A get of this loop that takes an item wakes a waiting put at once, as asyncio's does."""
from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any, Deque, Dict, Optional, Set, Tuple

from ._aio_tasks import OnLoop
from ._aio_view import FRESH, View
from ._errors import QueueError

if TYPE_CHECKING:
    from ._aio_outbox import Outbox
    from ._aio_socket import AioSocket


class Room(OnLoop):
    putters: Deque[asyncio.Future]  # result None: "there may be room, try again"
    view: View
    outbox: "Outbox"
    sock: Optional["AioSocket"]
    sock_held: Set[str]
    sent: int  # the credit the socket's consumer has
    received: int  # deliveries that reached this loop
    watching = False  # the socket watches the stats
    asked_stats = False  # a watch frame asked for stats to refresh the view
    asked_at = 0.0

    async def room(self) -> None:
        """Waits until there may be room (a get of this loop took an item, or the stats say so): the put tries again."""
        waiter = self.loop.create_future()
        self.putters.append(waiter)
        self.watch_room()
        try:
            await waiter
        except BaseException:
            if not waiter.cancel() and not waiter.cancelled():
                self.wake(self.putters, 1)  # woken but leaving: the next put may use the room
            if waiter in self.putters:
                self.putters.remove(waiter)
            raise
        finally:
            self.loop.call_soon(self.watch_room)  # after the put tried again, and perhaps waits again

    def watch_room(self) -> None:
        waiting = (self.asked_stats or any(not p.done() for p in self.putters)) and not self.closed
        if self.sock is not None and not self.sock.gone:
            if waiting and not self.watching:
                if self.sock.open:
                    self.watching = self.sock.send({"op": "watch"})
                else:
                    self.sock.connect(self.reconnected)
            elif not waiting and self.watching:
                self.watching = not self.sock.send({"op": "unwatch"})
        elif waiting:
            self.start("room", self._poll_room)

    async def _poll_room(self) -> None:
        """Without a socket: the stats, read now and then while puts wait (sooner after they changed)."""
        delay = 0.05
        while any(not p.done() for p in self.putters) and not self.closed:
            await asyncio.sleep(delay)
            try:
                woke = self.on_stats(*await self.read_stats())
            except QueueError:
                woke = False
            delay = 0.05 if woke else min(1.0, delay * 2)

    def refresh(self) -> None:
        """The view is read and is old: fresh stats are asked for in the background, at most one ask per FRESH."""
        now = time.monotonic()
        if self.closed or now - self.asked_at < FRESH:
            return
        self.asked_at = now
        if self.sock is not None and self.sock.open:
            self.asked_stats = True  # a watch sends the stats now, in order with the socket's deliveries
            self.watching = self.sock.send({"op": "watch"}) or self.watching
        else:
            self.start("refresh", self._refresh)

    async def _refresh(self) -> None:
        with contextlib.suppress(QueueError):
            self.on_stats(*await self.read_stats())

    async def read_stats(self) -> Tuple[Dict[str, Any], bool]:
        """The stats over HTTP, and whether the view may take them: nothing of this loop's was on its way meanwhile
        (a call sent, a delivery)."""
        mark = (self.outbox.begun, self.received)
        quiet = self.outbox.idle() and not self.delivering()
        stats = await self.http.request("GET", self.path)
        quiet = quiet and mark == (self.outbox.begun, self.received) and self.outbox.idle() and not self.delivering()
        return stats, quiet

    def delivering(self) -> bool:
        """Whether a delivery may be on its way to this loop (credit the socket's consumer has not used, a poll)."""
        pump = self.tasks.get("pump")
        return self.sent > len(self.sock_held) or (pump is not None and not pump.done())

    def on_stats(self, stats: Dict[str, Any], quiet: bool) -> bool:
        """Stats read: taken into the view if ``quiet`` (and this loop sent nothing meanwhile); the oldest puts
        waiting for room the view now shows try again."""
        if quiet and self.outbox.idle() and stats:
            self.view.take(stats)
            self.asked_stats = False
        if stats.get("shutdown"):
            self.q._shutdown_seen()
            return True
        return self.wake_putters()

    def wake_putters(self) -> bool:
        """The oldest puts waiting for room, as many as the view shows room for, try again."""
        free = len(self.putters) if self.view.maxsize <= 0 else self.view.maxsize - self.view.size()
        return self.wake(self.putters, free) > 0

    def reconnected(self) -> None:
        """A socket attempt ended: what waits asks again (the session adds its own)."""
