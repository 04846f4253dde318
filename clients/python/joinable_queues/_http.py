"""The HTTP transport: one kept-alive connection per thread, problem documents as exceptions, retries."""
from __future__ import annotations

import email.utils
import http.client
import json
import os
import random
import threading
import time
import urllib.parse
from typing import Any, Dict, Optional, Tuple

from ._errors import QueueError, error_for

DEFAULT_URL = "http://localhost:8787"
RETRIES = 4  # retries of a transient failure after the first attempt (the TypeScript client's default too)
BASE_DELAY = 0.1  # seconds: the wait before retry n is drawn from [0, min(MAX_DELAY, BASE_DELAY * 2**n)]
MAX_DELAY = 5.0  # the longest wait between two attempts, a Retry-After included
_LONGEST_WAIT = 86_400  # the longest timeout the service takes in one call; a longer wait is more polls


def retries_setting(retries: Optional[int]) -> int:
    """``retries`` as given, else JOINABLE_QUEUES_RETRIES, else RETRIES: an int >= 0."""
    if retries is None:
        env = os.environ.get("JOINABLE_QUEUES_RETRIES", "").strip()
        try:
            retries = int(env) if env else RETRIES
        except ValueError:
            raise ValueError(f"JOINABLE_QUEUES_RETRIES must be an integer >= 0, not {env!r}") from None
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be an integer >= 0, not {retries!r}")
    return retries


class Wait(dict):  # type: ignore[type-arg]
    """The body of a call that may wait: its ``timeout`` is what is left of the caller's deadline when it is sent, so
    a retry after a failure goes on waiting for what is left, never for the whole timeout again."""

    def __init__(self, body: Dict[str, Any], deadline: Optional[float]) -> None:
        super().__init__(body)
        self.deadline = deadline
        self.renew()

    def renew(self) -> "Wait":
        if self.deadline is not None:
            self["timeout"] = min(max(0.0, self.deadline - time.monotonic()), _LONGEST_WAIT)
        elif "timeout" not in self:
            self["timeout"] = None
        return self


class _Held:
    """A thread's connection, closed when the thread ends and its thread-local storage goes."""

    def __init__(self, conn: http.client.HTTPConnection) -> None:
        self.conn = conn

    def __del__(self) -> None:
        self.conn.close()


class _Failed(Exception):
    """One attempt that failed: the error to raise, whether to try again, and whether the service may have acted."""

    def __init__(self, error: Exception, transient: bool, unsent: bool, retry_after: Optional[float] = None) -> None:
        super().__init__(str(error))
        self.error, self.transient, self.unsent, self.retry_after = error, transient, unsent, retry_after


class Transport:
    """Sends JSON requests to one service; safe to share between threads (each gets its own connection).

    A transient failure (a network error, 408, 429, any 5xx but 503 ``not_configured``) is retried ``retries``
    times (default RETRIES, or JOINABLE_QUEUES_RETRIES) with exponential backoff and full jitter, waiting at least
    what a Retry-After asks, and at most MAX_DELAY between two attempts."""

    def __init__(self, url: Optional[str] = None, token: Optional[str] = None, retries: Optional[int] = None) -> None:
        self.url = (url or os.environ.get("JOINABLE_QUEUES_URL") or DEFAULT_URL).rstrip("/")
        self.token = token if token is not None else os.environ.get("JOINABLE_QUEUES_TOKEN", "")
        self.retries = retries_setting(retries)
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {self.url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path
        self._local = threading.local()

    def request(self, method: str, path: str, body: Any = None, headers: Optional[Dict[str, str]] = None, *,
                safe: bool = True, landed: Tuple[str, ...] = ()) -> Any:
        """Answers the decoded JSON (None for 204), or raises the problem document as an exception.

        ``safe``: the call changes nothing more when repeated (a put's idempotency key, a task_done's receipt, a
        get whose lost delivery comes back after its lease), so every transient failure is retried. A call that a
        repeat would make twice (an anonymous task_done, a get on a queue without leases) passes ``safe=False``: it
        is sent on a new connection and retried only when the service cannot have acted on it (the connection could
        not be opened, or a 429). ``landed``: the problem codes that, answering a repeat of an attempt that may have
        been applied, say that it was (a delete's ``not_found``): the call then answers None. A ``Wait`` body is
        renewed for each attempt. Failures count per call: a call that waits again (a poll) starts a new count."""
        may_have_landed = False
        for attempt in range(self.retries + 1):
            if attempt and isinstance(body, Wait):
                body.renew()
            try:
                return self._attempt(method, path, body, headers, fresh=not safe)
            except _Failed as failed:
                error = failed.error
                if may_have_landed and isinstance(error, QueueError) and error.code in landed:
                    return None
                if not failed.transient or (not safe and not failed.unsent) or attempt == self.retries:
                    if failed.transient and not safe and not failed.unsent and isinstance(error, QueueError):
                        detail = f"{error.detail}; not retried, as the service may have acted on it"
                        error = QueueError(error.code, error.status, detail)
                    raise error from failed.error.__cause__
                may_have_landed = may_have_landed or not failed.unsent
                delay = random.uniform(0, min(MAX_DELAY, BASE_DELAY * 2**attempt))
                time.sleep(min(MAX_DELAY, max(delay, failed.retry_after or 0.0)))
        raise AssertionError("unreachable")

    def _attempt(self, method: str, path: str, body: Any, headers: Optional[Dict[str, str]], fresh: bool) -> Any:
        data = None if body is None else json.dumps(body, allow_nan=False).encode()
        all_headers = {"accept": "application/json"}
        if data is not None:
            all_headers["content-type"] = "application/json"
        if self.token:
            all_headers["authorization"] = f"Bearer {self.token}"
        all_headers.update(headers or {})
        unsent = True
        try:
            conn = self._connection(fresh)
            if conn.sock is None:
                conn.connect()  # apart from the request, so that a failure here is known to have sent nothing
            unsent = False
            conn.request(method, self._prefix + path, body=data, headers=all_headers)
            res = conn.getresponse()
            text = res.read()
        except (OSError, http.client.HTTPException) as e:
            self._drop()
            error = QueueError("unavailable", 0, f"cannot reach {self.url}: {e!r}")
            error.__cause__ = e
            raise _Failed(error, True, unsent) from e
        if res.status < 400:
            return json.loads(text) if text else None
        problem = _problem(text, res.status, res.reason)
        # 408, 429 and 5xx are transient, unless the deployment is not configured (which no retry can change). A 4xx
        # changes nothing in the service: a 429 is a cap reached, and its Retry-After says when to come back.
        transient = (res.status >= 500 or res.status in (408, 429)) and problem.get("code") != "not_configured"
        raise _Failed(error_for(problem), transient, res.status < 500, _retry_after(res.getheader("retry-after")))

    def _connection(self, fresh: bool) -> http.client.HTTPConnection:
        held = getattr(self._local, "held", None)
        if held is not None and fresh:
            self._drop()  # a kept-alive connection may have been closed by the server: a failure would be ambiguous
            held = None
        if held is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            held = self._local.held = _Held(cls(self._host, self._port, timeout=60))
        return held.conn

    def _drop(self) -> None:
        held = getattr(self._local, "held", None)
        if held is not None:
            held.conn.close()
            self._local.held = None


def _retry_after(value: Optional[str]) -> Optional[float]:
    """A Retry-After header in seconds (it is either seconds or an HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return None if when is None else max(0.0, when.timestamp() - time.time())


def _problem(text: bytes, status: int, reason: str) -> Dict[str, Any]:
    try:
        problem = json.loads(text)
        if isinstance(problem, dict) and isinstance(problem.get("code"), str):
            return problem
    except ValueError:
        pass
    # No problem document: something in front of the service answered (a proxy, a restarting dev server).
    code = "limit_exceeded" if status == 429 else "unavailable" if status >= 500 or status == 408 else "invalid_request"
    return {"code": code, "status": status, "detail": f"HTTP {status} {reason}: {text[:200].decode(errors='replace')}"}
