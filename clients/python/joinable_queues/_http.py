"""The HTTP transport: one kept-alive connection per thread, problem documents as exceptions, retries."""
from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time
import urllib.parse
from typing import Any, Dict, Optional

from ._errors import QueueError, error_for

DEFAULT_URL = "http://localhost:8787"
RETRIES = 5


class _Held:
    """A thread's connection, closed when the thread ends and its thread-local storage goes."""

    def __init__(self, conn: http.client.HTTPConnection) -> None:
        self.conn = conn

    def __del__(self) -> None:
        self.conn.close()


class Transport:
    """Sends JSON requests to one service; safe to share between threads (each gets its own connection)."""

    def __init__(self, url: Optional[str] = None, token: Optional[str] = None) -> None:
        self.url = (url or os.environ.get("JOINABLE_QUEUES_URL") or DEFAULT_URL).rstrip("/")
        self.token = token if token is not None else os.environ.get("JOINABLE_QUEUES_TOKEN", "")
        parts = urllib.parse.urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {self.url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        held = getattr(self._local, "held", None)
        if held is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            held = self._local.held = _Held(cls(self._host, self._port, timeout=60))
        return held.conn

    def _drop(self) -> None:
        held = getattr(self._local, "held", None)
        if held is not None:
            held.conn.close()
            self._local.held = None

    def request(self, method: str, path: str, body: Any = None, headers: Optional[Dict[str, str]] = None) -> Any:
        """Answers the decoded JSON (None for 204), or raises the problem document as an exception.

        Network errors and 503 are retried with exponential backoff and full jitter. Every request here is safe to
        repeat: puts carry an idempotency key, and the service's other calls are idempotent or receipt-checked.
        """
        data = None if body is None else json.dumps(body, allow_nan=False).encode()
        all_headers = {"accept": "application/json"}
        if data is not None:
            all_headers["content-type"] = "application/json"
        if self.token:
            all_headers["authorization"] = f"Bearer {self.token}"
        all_headers.update(headers or {})
        for attempt in range(RETRIES + 1):
            try:
                conn = self._connection()
                conn.request(method, self._prefix + path, body=data, headers=all_headers)
                res = conn.getresponse()
                text = res.read()
            except (OSError, http.client.HTTPException) as e:
                self._drop()
                if attempt == RETRIES:
                    raise QueueError("unavailable", 0, f"cannot reach {self.url}: {e}") from e
                _backoff(attempt)
                continue
            if res.status < 400:
                return json.loads(text) if text else None
            problem = _problem(text, res.status, res.reason)
            if res.status == 503 and problem.get("code") == "unavailable" and attempt < RETRIES:
                _backoff(attempt)
                continue
            raise error_for(problem)
        raise AssertionError("unreachable")


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, min(2.0, 0.05 * 2**attempt)))


def _problem(text: bytes, status: int, reason: str) -> Dict[str, Any]:
    try:
        problem = json.loads(text)
        if isinstance(problem, dict):
            return problem
    except ValueError:
        pass
    # A 503 that is no problem document comes from in front of the service (a proxy, a restarting dev server): retry.
    return {"code": "unavailable" if status == 503 else "internal", "status": status, "detail": reason}
