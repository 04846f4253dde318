"""HTTP/1.1 over asyncio streams for the asyncio client: kept-alive connections of one event loop, problem documents as
exceptions, and the threaded transport's retry policy (_http.py's constants and rules), sleeping on the loop."""
from __future__ import annotations

import asyncio
import contextlib
import json
import random
import ssl
from typing import Any, Dict, List, Optional, Tuple

from ._errors import QueueError, error_for
from ._http import BASE_DELAY, MAX_DELAY, Transport, Wait, _problem, _retry_after

_ANSWER_SECONDS = 60.0  # as the threaded transport's socket timeout: a long poll is answered within the service's 20 s
_Stream = Tuple[asyncio.StreamReader, asyncio.StreamWriter]


class _Failed(Exception):
    """One attempt that failed: the error to raise, whether to try again, and whether the service may have acted."""

    def __init__(self, error: Exception, transient: bool, unsent: bool, retry_after: Optional[float] = None) -> None:
        super().__init__(str(error))
        self.error, self.transient, self.unsent, self.retry_after = error, transient, unsent, retry_after


class AsyncTransport:
    """The same service as a (threaded) Transport, from one event loop: its connections belong to that loop."""

    def __init__(self, sync: Transport) -> None:
        self.url, self.token, self.retries = sync.url, sync.token, sync.retries
        self._host, self._port, self._prefix = sync._host, sync._port or (443 if sync._https else 80), sync._prefix
        self._ssl: Optional[ssl.SSLContext] = ssl.create_default_context() if sync._https else None
        self._idle: List[_Stream] = []

    async def request(self, method: str, path: str, body: Any = None, headers: Optional[Dict[str, str]] = None, *,
                      safe: bool = True, landed: Tuple[str, ...] = ()) -> Any:
        """Answers the decoded JSON (None for 204), or raises the problem document as an exception. ``safe`` and
        ``landed`` mean what they mean to Transport.request: a transient failure (a network error, 408, 429, a 5xx
        but ``not_configured``) is retried with exponential backoff and full jitter only where a repeat is safe."""
        may_have_landed = False
        for attempt in range(self.retries + 1):
            if attempt and isinstance(body, Wait):
                body.renew()
            try:
                return await self._attempt(method, path, body, headers, fresh=not safe)
            except _Failed as failed:
                error = failed.error
                if may_have_landed and isinstance(error, QueueError) and error.code in landed:
                    return None
                if not failed.transient or (not safe and not failed.unsent) or attempt == self.retries:
                    raise error from failed.error.__cause__
                may_have_landed = may_have_landed or not failed.unsent
                delay = random.uniform(0, min(MAX_DELAY, BASE_DELAY * 2**attempt))
                await asyncio.sleep(min(MAX_DELAY, max(delay, failed.retry_after or 0.0)))
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()
        for _, writer in idle:
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _attempt(self, method: str, path: str, body: Any, headers: Optional[Dict[str, str]], fresh: bool) -> Any:
        data = b"" if body is None else json.dumps(body, allow_nan=False).encode()
        lines = [f"{method} {self._prefix + path} HTTP/1.1", f"host: {self._host}:{self._port}",
                 "accept: application/json", f"content-length: {len(data)}"]
        if body is not None:
            lines.append("content-type: application/json")
        if self.token:
            lines.append(f"authorization: Bearer {self.token}")
        lines.extend(f"{k}: {v}" for k, v in (headers or {}).items())
        unsent, stream = True, None
        try:
            stream = await self._connection(fresh)
            unsent = False
            stream[1].write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + data)
            status, reason, head, text = await asyncio.wait_for(_answer(stream[0]), _ANSWER_SECONDS)
        except BaseException as e:
            if stream is not None:
                stream[1].close()  # half a request, or half an answer: the connection cannot be used again
            if not isinstance(e, (OSError, EOFError, ValueError, asyncio.TimeoutError)):
                raise  # a cancelled caller, above all
            error = QueueError("unavailable", 0, f"cannot reach {self.url}: {e!r}")
            error.__cause__ = e
            raise _Failed(error, True, unsent) from e
        if head.get("connection", "").lower() == "close":
            stream[1].close()
        else:
            self._idle.append(stream)
        if status < 400:
            return json.loads(text) if text else None
        problem = _problem(text, status, reason)
        transient = (status >= 500 or status in (408, 429)) and problem.get("code") != "not_configured"
        raise _Failed(error_for(problem), transient, status < 500, _retry_after(head.get("retry-after")))

    async def _connection(self, fresh: bool) -> _Stream:
        while self._idle:
            reader, writer = self._idle.pop()
            if fresh or writer.is_closing() or reader.at_eof():
                writer.close()  # a kept-alive connection the server may have closed: a failure would be ambiguous
                continue
            return reader, writer
        return await asyncio.open_connection(self._host, self._port, ssl=self._ssl,
                                             server_hostname=self._host if self._ssl else None)


async def _answer(reader: asyncio.StreamReader) -> Tuple[int, str, Dict[str, str], bytes]:
    """One HTTP/1.1 response: status, reason, headers (lower-cased names) and the body, whole."""
    status_line = (await reader.readuntil(b"\r\n")).decode("latin-1").rstrip("\r\n")
    _, status, *reason = status_line.split(" ", 2)
    head: Dict[str, str] = {}
    while True:
        line = (await reader.readuntil(b"\r\n")).decode("latin-1").rstrip("\r\n")
        if not line:
            break
        name, _, value = line.partition(":")
        head[name.strip().lower()] = value.strip()
    code = int(status)
    if code in (204, 304) or 100 <= code < 200:
        return code, " ".join(reason), head, b""
    if "chunked" in head.get("transfer-encoding", "").lower():
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                return code, " ".join(reason), head, bytes(body)
            body += await reader.readexactly(size)
            await reader.readexactly(2)
    if "content-length" in head:
        return code, " ".join(reason), head, await reader.readexactly(int(head["content-length"]))
    head["connection"] = "close"  # the body ends with the connection
    return code, " ".join(reason), head, await reader.read()
