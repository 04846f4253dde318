"""Exceptions: Python's own queue exceptions where Python has one, QueueError (the problem document) otherwise."""
from __future__ import annotations

import queue
from typing import Any, Dict


class QueueError(Exception):
    """A problem document from the service: its stable ``code``, HTTP ``status`` and ``detail``."""

    def __init__(self, code: str, status: int, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.status = status
        self.detail = detail


class Empty(queue.Empty):
    """Raised by get(block=False) on an empty queue, or when get's timeout passes."""


class Full(queue.Full):
    """Raised by put(block=False) on a full queue, or when put's timeout passes."""


# Python 3.13 added queue.ShutDown; on older versions ours is the only one.
class ShutDown(getattr(queue, "ShutDown", Exception)):  # type: ignore[misc]
    """Raised by put on a shut-down queue, and by get once a shut-down queue is empty."""


def error_for(problem: Dict[str, Any]) -> Exception:
    code = str(problem.get("code", "internal"))
    detail = str(problem.get("detail", ""))
    if code == "empty":
        return Empty()
    if code == "full":
        return Full()
    if code == "shutdown":
        return ShutDown()
    if code == "task_done_too_many":
        return ValueError("task_done() called too many times")
    return QueueError(code, int(problem.get("status", 0)), detail)
