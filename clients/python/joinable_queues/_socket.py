"""Consuming over the queue's WebSocket (docs/sockets.md), where the `websockets` library is installed.

A get() that waits here holds no HTTP request open: it is one standing consumer on one socket per queue object
and process, whose credit follows demand. The service counts against a consumer every delivery it holds until it
is task_done'd or released, so the prefetch sent is always "what this process holds, plus what it still wants":
the gets waiting now, or ``prefetch`` items kept ready ahead of them. A get that gives up lowers it again, and a
delivery that arrives when nobody wants it any more goes straight back, so qsize() and other consumers see the
queue as queue.Queue would. One daemon thread runs an asyncio loop with the socket; callers from any thread wait
on futures of that loop. Whatever the socket cannot do (a socket refused, or closed by a shutdown or a delete, a
consumer at the socket's cap of 100 deliveries) raises Unavailable, and the caller does it over HTTP instead.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import random
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, Optional, Set

from ._errors import Empty, error_for

try:  # the optional extra: pip install "joinable-queues[sockets]"
    import websockets
    import websockets.exceptions
except ImportError:  # pragma: no cover - exercised by the HTTP-only runs
    websockets = None  # type: ignore[assignment]

AVAILABLE = websockets is not None
_CONSUMER = "get"  # this socket's one consumer; requests are numbered, so the ids never meet
_MAX_HELD = 100  # the service's cap on what one socket's consumers hold and prefetch in all
_RETRIES = 4
_GONE = (4001, 4004)  # closed because the queue shut down (and this socket had no consumer) or was deleted


class Unavailable(Exception):
    """The socket cannot serve this call: the caller makes it over HTTP."""


async def open_socket(url: str, headers: Dict[str, str], close_timeout: float = 10.0) -> Any:
    """Opens a queue's WebSocket with the library at hand (the threaded and the asyncio client share it)."""
    try:  # websockets >= 13 has the new asyncio implementation; Debian 12 has 10.4, whose client is the legacy one
        from websockets.asyncio.client import connect  # type: ignore[import-not-found]
    except ImportError:
        return await websockets.connect(url, extra_headers=headers, max_size=None, close_timeout=close_timeout)
    return await connect(url, additional_headers=headers, max_size=None, close_timeout=close_timeout)


async def read_frames(ws: Any, on_frame: Callable[[Dict[str, Any]], None]) -> None:
    """Hands each JSON object a queue's socket reads to ``on_frame`` (a "pong" is skipped) until the socket closes
    (the threaded and the asyncio client share it)."""
    try:
        async for message in ws:
            try:
                frame = json.loads(message)
            except ValueError:
                continue  # "pong"
            if isinstance(frame, dict):
                on_frame(frame)
    except websockets.exceptions.ConnectionClosed:
        pass


def refused_status(e: BaseException) -> int:
    """The HTTP status with which the service refused a socket's upgrade (0: it gave none)."""
    response = getattr(e, "response", None)
    return getattr(e, "status_code", None) or getattr(response, "status_code", None) or 0


class SocketConsumer:
    """One queue's socket in this process. Public methods are called from any thread and block (through _call);
    the coroutines run on the socket's own event loop, which alone touches its state."""

    def __init__(self, url: str, token: str, path: str, prefetch: int) -> None:
        self._url = "ws" + url[len("http"):] + path + "/ws"
        self._headers = {"authorization": f"Bearer {token}"} if token else {}
        self._prefetch = max(0, min(int(prefetch), _MAX_HELD))
        self._start = threading.Lock()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._ws: Any = None
        self._opening: Optional[asyncio.Future] = None
        self._gone = False  # closed for good: every call goes over HTTP from now on
        self._waiters: Deque[asyncio.Future] = deque()  # gets waiting, oldest first
        self._ready: Deque[Dict[str, Any]] = deque()  # prefetched deliveries no get has taken yet
        self._held: Set[str] = set()  # receipts the service counts against this consumer (taken and ready)
        self._sent = 0  # the prefetch the service has from us (0: no consumer)
        self._answers: Dict[int, asyncio.Future] = {}
        self._ids = itertools.count(1)

    # ---- from any thread

    def get(self, timeout: Optional[float]) -> Dict[str, Any]:
        """One delivery; Empty when ``timeout`` passes first, ShutDown, or Unavailable (then ask over HTTP)."""
        return self._call(self._get(timeout))

    def take(self) -> Optional[Dict[str, Any]]:
        """A prefetched delivery, if one is ready (get(block=False) takes it before asking the service)."""
        return self._call(self._take()) if self._loop is not None else None

    def finish(self, op: str, receipt: str, **fields: Any) -> Dict[str, Any]:
        """task_done, release or extend of a delivery this socket holds: its answer, or Unavailable."""
        return self._call(self._finish(op, receipt, fields))

    def holds(self, receipt: Optional[str]) -> bool:
        return receipt is not None and receipt in self._held  # a hint only: finish() decides

    def close(self) -> None:
        """Stops consuming and gives back what is prefetched; the socket closes now if nothing is held (else it stays
        open for the held deliveries' task_done)."""
        if self._loop is not None:
            self._call(self._close())

    def _call(self, coro: Any) -> Any:
        with self._start:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(target=self._loop.run_forever, name=f"joinable-queues socket {self._url}",
                                 daemon=True).start()
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # an interrupted caller withdraws its get (and gives back what it may have got)
            raise

    # ---- on the loop

    async def _get(self, timeout: Optional[float]) -> Dict[str, Any]:
        if self._ready:
            return await self._take()  # type: ignore[return-value]
        if len(self._held) + len(self._waiters) >= _MAX_HELD:
            raise Unavailable("this socket's consumer holds as much as the service lets it")
        deadline = None if timeout is None else time.monotonic() + timeout
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            left = lambda: None if deadline is None else max(0.0, deadline - time.monotonic())  # noqa: E731
            await asyncio.wait_for(self._connected(), left())
            await self._adjust()
            await asyncio.wait([waiter], timeout=left())
            if not waiter.done():
                raise Empty()
            return waiter.result()
        except asyncio.TimeoutError:
            raise Empty() from None
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._give_back(waiter.result())
            raise
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            waiter.cancel()
            await self._adjust()

    async def _take(self) -> Optional[Dict[str, Any]]:
        delivery = self._ready.popleft() if self._ready else None
        await self._adjust()
        return delivery

    async def _finish(self, op: str, receipt: str, fields: Dict[str, Any]) -> Dict[str, Any]:
        if self._ws is None or receipt not in self._held:
            raise Unavailable("not this socket's delivery (it dropped since)")
        if op != "extend":
            self._held.discard(receipt)
            await self._adjust()  # first lower the credit, so its return brings nothing nobody wants
        answer = await self._request({"op": op, "receipt": receipt, **fields})
        if self._gone and not self._held and self._ws is not None:
            await self._ws.close()  # the queue shut down and this socket holds nothing more: done with it
        if answer.get("type") == "error":
            raise error_for(answer)
        return answer

    async def _close(self) -> None:
        self._gone, self._prefetch = True, 0
        for delivery in list(self._ready):
            self._give_back(delivery)
        self._ready.clear()
        if self._held:
            await self._adjust()  # open for the task_done of what is held: the last one closes it (_finish)
        elif self._ws is not None:
            await self._ws.close()

    async def _request(self, frame: Dict[str, Any]) -> Dict[str, Any]:
        frame_id = next(self._ids)
        answer = asyncio.get_running_loop().create_future()
        self._answers[frame_id] = answer
        try:
            await self._send({**frame, "id": frame_id})
            return await answer
        finally:
            self._answers.pop(frame_id, None)

    async def _send(self, frame: Dict[str, Any]) -> None:
        # A send on a socket that is closing waits for the close to complete (seconds): never try.
        if self._ws is None or getattr(self._ws.state, "name", "OPEN") != "OPEN":
            raise Unavailable("the socket is closed")
        try:
            await self._ws.send(json.dumps(frame, allow_nan=False))
        except websockets.exceptions.ConnectionClosed as e:
            raise Unavailable("the socket closed") from e

    async def _adjust(self) -> None:
        """Sends the prefetch that asks for exactly what is wanted: held, plus waiting gets (or ``prefetch``)
        beyond what is ready."""
        if self._ws is None:
            return
        wanted = max(len(self._waiters), self._prefetch) - len(self._ready)
        prefetch = min(_MAX_HELD, len(self._held) + max(0, wanted))
        if prefetch == self._sent:
            return
        self._sent = prefetch
        frame = {"op": "consume", "prefetch": prefetch} if prefetch else {"op": "cancel"}
        try:
            await self._send({**frame, "id": _CONSUMER})
        except Unavailable:
            pass  # the close is handled where the socket is read

    async def _connected(self) -> None:
        if self._gone:
            raise Unavailable("the socket was closed for good")
        if self._ws is not None:
            return
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._connect())
        opening = self._opening
        try:
            await asyncio.shield(opening)
        finally:
            if opening.done() and self._opening is opening:
                self._opening = None

    async def _connect(self) -> None:
        for attempt in range(_RETRIES + 1):
            try:
                ws = await open_socket(self._url, self._headers)
            except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException) as e:
                status = refused_status(e)
                if 400 <= status < 500:  # refused (no queue, no right): HTTP will say why
                    self._gone = True
                    raise Unavailable(f"the socket was refused: {e}") from e
                if attempt == _RETRIES:
                    raise Unavailable(f"cannot open {self._url}: {e}") from e
                await asyncio.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))
                continue
            self._ws, self._sent = ws, 0
            asyncio.ensure_future(self._read(ws))
            return

    async def _read(self, ws: Any) -> None:
        try:
            await read_frames(ws, self._received)
        finally:
            await self._dropped(ws)

    def _received(self, frame: Dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "delivery":
            if frame.get("receipt"):
                self._held.add(frame["receipt"])
            while self._waiters and self._waiters[0].done():
                self._waiters.popleft()
            if self._waiters:
                self._waiters.popleft().set_result(frame)
            elif len(self._ready) < self._prefetch:
                self._ready.append(frame)
                lease_ms = (frame.get("lease_expires_at") or 0) - time.time() * 1000
                asyncio.get_running_loop().call_later(max(0.0, lease_ms / 2000), self._expire, frame)
            else:
                self._give_back(frame)  # its get gave up while it was on its way
        elif kind in ("shutdown", "deleted"):
            # The socket may be closed next (it is when it has no consumer), and a close can take seconds to
            # complete: the gets waiting ask over HTTP now, which answers what is left, ShutDown, or not_found.
            self._end(Unavailable(f"the queue was {kind}"))
        elif frame.get("id") == _CONSUMER and kind == "error":
            # "shutdown": the queue is shut down and empty. Anything else: this consumer cannot go on here.
            self._end(error_for(frame) if frame.get("code") == "shutdown" else Unavailable(frame.get("detail")))
        elif isinstance(frame.get("id"), int) and frame["id"] in self._answers:
            answer = self._answers[frame["id"]]
            if not answer.done():
                answer.set_result(frame)

    def _end(self, error: Exception) -> None:
        """Gets go over HTTP from now on; the socket stays open while it holds deliveries, for their task_done."""
        self._gone = True
        self._prefetch = 0
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(error)
        asyncio.ensure_future(self._adjust())

    def _expire(self, frame: Dict[str, Any]) -> None:
        """A prefetched delivery no get took within half its lease goes back, for a consumer that wants it."""
        if frame in self._ready:
            self._ready.remove(frame)
            self._give_back(frame)

    def _give_back(self, delivery: Dict[str, Any]) -> None:
        receipt = delivery.get("receipt")
        if receipt and receipt in self._held:
            self._held.discard(receipt)
            asyncio.ensure_future(self._quietly({"op": "release", "id": next(self._ids), "receipt": receipt}))
        asyncio.ensure_future(self._adjust())

    async def _quietly(self, frame: Dict[str, Any]) -> None:
        try:
            await self._send(frame)
        except Unavailable:
            pass  # a closed socket gave back what it held anyway

    async def _dropped(self, ws: Any) -> None:
        """The service gave back what this socket held when it saw it close: those receipts are stale now. A socket
        closed by a shutdown or a delete stays closed; any other reopens while gets wait."""
        if ws is not self._ws:
            return
        self._ws, self._sent = None, 0
        self._held.clear()
        self._ready.clear()
        for answer in self._answers.values():
            if not answer.done():
                answer.set_exception(Unavailable("the socket closed"))
        if getattr(ws, "close_code", None) in _GONE:
            self._gone = True
        if not self._waiters:
            return
        try:
            await self._connected()
            await self._adjust()
        except Unavailable as e:
            for waiter in self._waiters:
                if not waiter.done():
                    waiter.set_exception(e)
