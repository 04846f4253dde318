"""One asyncio Queue on one event loop: its waiting gets and puts, the deliveries it holds, and how they are served.

Waiters are futures, as in asyncio's queues.py: a get waits until a delivery is handed to it, a put until there may be
room. What wakes them comes from the network, never from a thread: the queue's socket (one consumer whose credit is
what the waiting gets want, and a stats watch while puts wait) or, without one, HTTP over asyncio streams (a long poll
asking for as many items as gets wait, a stats poll while puts wait). A delivery handed to a get that was cancelled
goes to the next get or straight back, so nothing is lost. What the loop's calls send without waiting goes out through
the session's outbox (_aio_outbox.py); what they read without asking is its view (_aio_view.py).
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Deque, Dict, List, Optional, Set, Tuple

from ._aio_joins import Joins
from ._aio_outbox import Outbox
from ._aio_room import Room
from ._aio_socket import AioSocket
from ._aio_view import View
from ._errors import QueueError

if TYPE_CHECKING:  # for annotations only: aio imports this module
    from .aio import Queue

CONSUMER = "get"  # the socket's one consumer (join subscriptions are "j<n>", other requests numbers)
CAP = 100  # the service's cap on what one socket's consumers hold and prefetch in all
# How long a delivery that came for a get that gave up waits for the next get before it goes back. A release counts as
# a delivery (so that max_deliveries ends a poison item): bounced at once, an item asked for by gets that keep giving
# up (short timeouts on a slow link) would be dead-lettered without ever being got.
LINGER = 1.0
Got = Tuple[Dict[str, Any], bool]  # a delivery, and whether the socket holds it


class Session(Room):
    def __init__(self, queue: "Queue", loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(queue, loop)
        self.getters: Deque[asyncio.Future] = deque()  # result: a Got, or None: "ask again" (a shutdown, a close)
        self.putters: Deque[asyncio.Future] = deque()  # result None: "there may be room, try again"
        self.ready: Deque[Got] = deque()  # deliveries no get took yet: prefetched, or come for a get that gave up
        self.sock = AioSocket(self.http.url, self.http.token, self.path, self.on_frame, self.on_closed) \
            if queue._sockets else None
        self.consuming = queue._lease is not None  # without leases a delivery has no receipt to count credit by
        self.sock_held: Set[str] = set()  # receipts the service counts against the socket's consumer
        self.sent = 0  # the prefetch the consumer has (0: none)
        self.credit, self.credit_soon = 0, False  # the prefetch to send at the end of this step
        self.watching = False
        self.pump_need = 0  # waiting gets the socket does not serve: HTTP long polls ask for them
        self.extending: Dict[int, Any] = {}  # extend frames not answered yet: frame id -> its Job
        self.joins = Joins(self)
        self.view = View(queue._known)
        self.outbox = Outbox(self)
        self.received = 0  # deliveries that reached this loop

    # ---- gets

    async def get(self) -> Optional[Got]:
        """A delivery for one get, or None when the caller must ask over HTTP (the queue is shut down)."""
        if self.ready:
            got = self.ready.popleft()
            self.demand()
            return got
        if self.q._shut or self.view.shutdown or self.closed:
            return None
        waiter = self.loop.create_future()
        self.getters.append(waiter)
        self.demand()
        try:
            got = await waiter
        except BaseException:
            if not waiter.cancel() and not waiter.cancelled() and waiter.exception() is None and waiter.result():
                self.hand(*waiter.result())  # it came for this get, which is gone: to the next, or back
            if waiter in self.getters:
                self.getters.remove(waiter)
            self.demand()
            raise
        self.demand()
        return got

    def demand(self) -> None:
        """Asks for exactly what is wanted: the socket's consumer holds what it holds plus what the waiting gets
        (or ``prefetch``) want beyond what is ready, up to the service's cap; HTTP long polls ask for the rest."""
        if self.closed:
            return
        waiting = sum(1 for g in self.getters if not g.done())
        want = max(0, max(waiting, 0 if self.view.shutdown else self.q._prefetch) - len(self.ready))
        by_socket = 0
        if self.sock is not None and self.consuming and not self.sock.gone:
            if self.sock.open:
                by_socket = min(want, max(0, CAP - len(self.sock_held)))
                self._credit(len(self.sock_held) + by_socket)
            elif want:
                self.sock.connect(self.reconnected)
                by_socket = want  # the gets wait for the socket; if it cannot open, reconnected() asks again
        self.pump_need = want - by_socket  # (over HTTP too, prefetch keeps items ready)
        if self.pump_need > 0:
            self.start("pump", self._pump)

    def _credit(self, prefetch: int) -> None:
        """The consumer's credit is sent once a step, when the step is over: a task_done and the next get of the
        same task (a worker's loop) make no frame at all, where each would make one, a frame the queue must read."""
        self.credit = prefetch
        if not self.credit_soon:
            self.credit_soon = True
            self.loop.call_soon(self.send_credit)

    def send_credit(self) -> None:
        """Sends the credit now, if it changed: before anything that frees some (a release), and before the outbox
        sends a task_done (scheduled after it), so that the credit it frees brings nothing nobody asked for."""
        self.credit_soon = False
        if self.credit != self.sent and self.sock is not None and self.sock.open:
            frame = {"op": "consume", "prefetch": self.credit} if self.credit else {"op": "cancel"}
            if self.sock.send({**frame, "id": CONSUMER}):
                self.sent = self.credit

    def arrived(self, delivery: Dict[str, Any], by_socket: bool) -> None:
        """An item left the queue for this loop: to the oldest waiting get, kept ready, or given back. A put
        waiting for room may now find some."""
        self.received += 1
        self.view.taken()
        self.hand(delivery, by_socket)
        self.wake(self.putters, 1)
        self.demand()

    def hand(self, delivery: Dict[str, Any], by_socket: bool) -> None:
        while self.getters and self.getters[0].done():
            self.getters.popleft()
        if self.getters:
            self.getters.popleft().set_result((delivery, by_socket))
        elif not self.closed or not delivery.get("receipt"):
            got = (delivery, by_socket)
            self.ready.append(got)
            if delivery.get("receipt"):  # without one (a queue without leases) it cannot go back: it waits for a get
                half = max(0.0, ((delivery.get("lease_expires_at") or 0) - time.time() * 1000) / 2000)
                keep = half if len(self.ready) <= self.q._prefetch else min(half, LINGER)
                self.loop.call_later(keep, self._expire, got)
        else:
            self.give_back(delivery, by_socket)

    def _expire(self, got: Got) -> None:
        """A delivery kept ready that no get took in time (half its lease if prefetched, else LINGER) goes back, for
        a consumer that wants it."""
        if got in self.ready:
            self.ready.remove(got)
            self.give_back(*got)
            self.demand()

    def give_back(self, delivery: Dict[str, Any], by_socket: bool) -> None:
        receipt = delivery.get("receipt")
        if receipt:
            self.view.returned()
        if by_socket and receipt in self.sock_held:
            self.finished(receipt)  # first lower the credit, so that the release brings nothing back
            self.send_credit()
            self.sock.send({"op": "release", "id": self.sock.next_id(), "receipt": receipt})  # type: ignore[union-attr]
        elif receipt:  # (a socket that closed has given back what it held)
            body = {"receipt": receipt, "delay": 0}
            self.spawn(self.http.request("POST", f"{self.path}/release", body, landed=("stale_receipt",)))

    def finished(self, receipt: Optional[str]) -> None:
        """A delivery the socket held ends by another door: its credit is lowered now, before that door is used."""
        if receipt in self.sock_held:
            self.sock_held.discard(receipt)  # type: ignore[arg-type]
            self.demand()

    async def _pump(self) -> None:
        """Long polls for the gets the socket does not serve (all of them without one), up to 100 items a call."""
        while self.pump_need > 0 and not self.closed:
            try:
                answer = await self.http.request("POST", f"{self.path}/get", {"max": min(CAP, self.pump_need)},
                                                 safe=self.q._lease is not None)
            except QueueError as e:
                if e.code == "poll_again":
                    continue  # the service's 20 s cap: nothing happened
                if e.code == "shutdown":
                    self.q._shutdown_seen()  # the gets ask again and raise QueueShutDown
                    return
                for waiter in self.getters:
                    if not waiter.done():
                        waiter.set_exception(e)
                return
            for delivery in answer["items"]:
                self.arrived(delivery, False)
            self.demand()

    # ---- what the socket reads, and its close

    def on_frame(self, frame: Dict[str, Any]) -> None:
        kind, frame_id = frame.get("type"), frame.get("id")
        if kind == "delivery":
            if frame.get("receipt"):
                self.sock_held.add(frame["receipt"])
            self.arrived(frame, True)
        elif kind == "stats":
            self.on_stats(frame.get("stats") or {}, True)  # in order with the deliveries: quiet if nothing was sent
            self.watch_room()  # (stops watching if it was only for a refresh)
        elif kind == "extend" and frame_id in self.extending:
            job = self.extending.pop(frame_id)
            job.lease_expires_at = frame.get("lease_expires_at")
            job.cancelled = job.cancelled or bool(frame.get("cancelled"))  # its group was cancelled
        elif kind == "joined":
            self.joins.joined(frame_id)
        elif kind == "shutdown":
            stats = frame.get("stats")  # the counts it shut down with, in order with the deliveries
            self.on_stats({**stats, "shutdown": True} if stats else {"shutdown": True}, bool(stats))
        elif kind == "deleted":
            self.sock.gone = True  # type: ignore[union-attr]
            self.wake_all()  # the gets ask again, over HTTP, which says not_found
        elif kind == "error" and frame_id == CONSUMER:
            if frame.get("code") == "shutdown":
                self.q._shutdown_seen()  # shut down and empty
            else:
                self.consuming = False  # this consumer cannot go on here: HTTP serves the gets
                self.demand()
        elif kind == "error" and frame_id in self.extending:
            self.q._forget(self.extending.pop(frame_id))  # completed meanwhile, or lost: nothing to keep alive
        elif kind == "error" and isinstance(frame_id, str):
            self.joins.refused(frame_id)

    def on_closed(self, code: Optional[int]) -> None:
        """The service gave back what the socket held when it saw it close: those receipts are stale now."""
        self.sent, self.watching = 0, False
        self.sock_held.clear()
        self.extending.clear()
        self.ready = deque(got for got in self.ready if not got[1])  # the socket's went back with it
        if code == 4001:
            self.q._shutdown_seen()
        self.joins.dropped()
        if not self.closed:
            self.loop.call_soon(self.reconnected)

    def reconnected(self) -> None:
        """A socket attempt ended (opened, or not): whatever waits asks again, on it or over HTTP."""
        if not self.closed:
            self.demand()
            self.watch_room()
            self.joins.resend()

    def extend_on_socket(self, job: Any, lease: int) -> bool:
        """A delivery is extended on the socket, whichever door it came by (the service finds its object by its
        receipt): one frame, written now, answered later; the next beat asks again if the socket closed meanwhile."""
        if self.sock is None or not self.sock.open:
            return False
        if any(asked is job for asked in self.extending.values()):
            return True
        frame_id = self.sock.next_id()
        if not self.sock.send({"op": "extend", "id": frame_id, "receipt": job.receipt, "lease_seconds": lease}):
            return False
        self.extending[frame_id] = job
        return True

    async def last_words(self) -> None:
        await self.outbox.flush()
        while self.outbox.failures:  # never raised: told as asyncio tells of a task's exception nobody retrieved
            failure = self.outbox.failures.popleft()
            self.loop.call_exception_handler({"message": f"joinable_queues: {self.q.name}: {failure}",
                                              "exception": failure})

    def ended(self) -> None:
        if self.sock is not None:
            self.sock.abort()

    def shut(self) -> None:
        """The queue is shut down (the service said so, or this loop asked): a waiting put raises QueueShutDown, a
        waiting get asks again once what this loop sent before has been answered."""
        self.view.shutdown = True
        self.wake_all()

    def wake_all(self) -> None:
        """Every waiting get and put tries again."""
        self.wake(self.getters, len(self.getters))
        self.wake(self.putters, len(self.putters))
        self.demand()

    async def aclose(self) -> None:
        """Sends what the loop's calls left to send, gives back what is prefetched, stops consuming and closes the
        socket and connections; waiting gets and puts try again (on a new session)."""
        await self.outbox.flush()
        while self.ready:
            self.give_back(*self.ready.popleft())
        self.closed = True
        self.wake_all()
        self.joins.close()
        if self.sock is not None:
            await self.sock.close()  # after the releases just written: the service reads a socket's frames in order
        tasks: List[asyncio.Future] = [*self.tasks.values(), *self.spawned]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.http.aclose()
