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


class SendError(QueueError):
    """A call the asyncio client took without waiting for the service (a put with room, put_nowait, task_done, a
    job's done or release, shutdown, a maxsize set) that failed once sent: raised by the next call of that event loop
    on the queue. ``op`` names the call (``"put"``, ``"task_done"``...), ``items`` the items a failed put did not
    put, ``error`` what the call itself would have raised (also the ``__cause__``); ``code``, ``status`` and
    ``detail`` are its own where it is a QueueError (``shutdown``, ``full``, ``task_done_too_many`` otherwise)."""

    def __init__(self, op: str, error: BaseException, items: Any = ()) -> None:
        if isinstance(error, QueueError):
            code, status, detail = error.code, error.status, error.detail
        else:
            code, status = _code_of(error)
            detail = str(error) or type(error).__name__
        super().__init__(code, status, f"{op}: {detail}")
        self.op, self.error, self.items = op, error, list(items)
        self.__cause__ = error


def _code_of(error: BaseException) -> Any:
    """The problem code and status the service gave for an error the client raises as Python's own class."""
    for cls, code in ((ShutDown, ("shutdown", 410)), (Full, ("full", 409)), (Empty, ("empty", 409)),
                      (ValueError, ("task_done_too_many", 409))):
        if isinstance(error, cls):
            return code
    return ("internal", 0)


class GroupCancelled(QueueError):
    """A put naming a group that was cancelled (``q.group(name).cancel()``): nothing of the put is stored."""


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
    if code == "group_cancelled":
        return GroupCancelled(code, int(problem.get("status", 410)), detail)
    return QueueError(code, int(problem.get("status", 0)), detail)
