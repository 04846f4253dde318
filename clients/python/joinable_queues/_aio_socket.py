"""The asyncio client's WebSocket (docs/sockets.md): one per queue and event loop, opened on first need.

Frames are written the moment they are made, in that order, without a suspension: the service must see a consumer's
credit lowered before a completion sent over HTTP right after it, or it would send an item nobody asked for. That is
`websockets.broadcast`, the library's synchronous send. What the socket reads goes to its owner (the session).
"""
from __future__ import annotations

import asyncio
import json
import random
from typing import Any, Callable, Dict, Optional

from ._http import BASE_DELAY, MAX_DELAY, RETRIES
from ._socket import open_socket, read_frames, refused_status, websockets

GONE = (4001, 4004)  # closed because the queue shut down (and this socket had no consumer), or was deleted


# How long a close waits for the service's side of the handshake. The library's 10 s default is what a loop that ends
# while a socket is still opening (asyncio.run cancelling every task) would wait: the service gives back what the socket
# held the moment the connection drops, so there is nothing to wait for.
_CLOSE_SECONDS = 0.2


def _broadcast(ws: Any) -> Callable[[Any, str], None]:
    """The library's synchronous send for this kind of connection: the legacy protocol's (websockets < 14's default
    client, Debian's 10.4) or the new asyncio implementation's."""
    if ".legacy." in type(ws).__module__:
        from websockets.legacy.protocol import broadcast
    else:  # pragma: no cover - websockets >= 13 only
        try:
            from websockets.asyncio.connection import broadcast  # type: ignore[no-redef]
        except ImportError:
            from websockets.asyncio.server import broadcast  # type: ignore[no-redef]
    return broadcast  # type: ignore[return-value]


class AioSocket:
    """One queue's socket on one loop. ``on_frame(frame)`` is called for each JSON frame read; ``on_closed(code)``
    once it has closed (``gone`` tells whether it may be opened again)."""

    def __init__(self, url: str, token: str, path: str, on_frame: Callable[[Dict[str, Any]], None],
                 on_closed: Callable[[Optional[int]], None]) -> None:
        self._url = "ws" + url[len("http"):] + path + "/ws"
        self._headers = {"authorization": f"Bearer {token}"} if token else {}
        self._on_frame, self._on_closed = on_frame, on_closed
        self._ws: Any = None
        self._send: Optional[Callable[[Any, str], None]] = None
        self._opening: Optional[asyncio.Task] = None
        self._reader: Optional[asyncio.Task] = None
        self.gone = False  # refused, closed by a shutdown or a delete, or out of reach: the session uses HTTP
        self._ids = 0

    @property
    def open(self) -> bool:
        return self._ws is not None and getattr(self._ws.state, "name", "") == "OPEN"

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    def connect(self, then: Callable[[], None]) -> None:
        """Opens the socket unless it is open, opening or gone; ``then()`` runs when that attempt has ended."""
        if self.gone or self._ws is not None or self._opening is not None:
            return
        self._opening = asyncio.ensure_future(self._connect())
        self._opening.add_done_callback(lambda t: self._opened(t, then))

    def _opened(self, task: "asyncio.Task[None]", then: Callable[[], None]) -> None:
        self._opening = None
        if task.cancelled() or task.exception() is not None:
            self.gone = True  # the loop is ending, or the service could not be reached: HTTP from now on
        then()

    async def _connect(self) -> None:
        for attempt in range(RETRIES + 1):
            try:
                ws = await open_socket(self._url, self._headers, _CLOSE_SECONDS)
            except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException) as e:
                status = refused_status(e)
                if 400 <= status < 500 and status not in (408, 429):
                    raise  # refused (no queue, no right): HTTP will say why
                if attempt == RETRIES:
                    raise
                await asyncio.sleep(random.uniform(0, min(MAX_DELAY, BASE_DELAY * 2**attempt)))
                continue
            self._ws, self._send = ws, _broadcast(ws)
            self._reader = asyncio.ensure_future(self._read(ws))
            return

    def send(self, frame: Dict[str, Any]) -> bool:
        """Writes one frame now; False if the socket is not open (the service gives back what it held on a close)."""
        if not self.open or self._send is None:
            return False
        try:
            self._send([self._ws], json.dumps(frame, allow_nan=False))
        except (RuntimeError, OSError):
            return False
        return True

    async def _read(self, ws: Any) -> None:
        try:
            await read_frames(ws, self._on_frame)
        except asyncio.CancelledError:
            self.abort()  # the loop is ending (asyncio.run cancels every task): no closing handshake to wait for
            raise
        finally:
            code = getattr(ws, "close_code", None)
            self._ws = None
            self.gone = self.gone or code in GONE
            self._on_closed(code)

    async def close(self) -> None:
        ws, self.gone = self._ws, True
        if self._opening is not None:
            self._opening.cancel()
        if ws is not None:
            await ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)

    def abort(self) -> None:
        """Closes without a handshake (the loop is ending): the service sees the connection drop and gives back what
        the socket held."""
        self.gone = True
        transport = getattr(self._ws, "transport", None)
        if transport is not None:
            transport.abort()
