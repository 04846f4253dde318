"""queue.SimpleQueue's interface over the service: an unbounded FIFO queue without task_done or join."""
from __future__ import annotations

import types
from typing import Any, Optional

from ._queue import Queue


class SimpleQueue:
    """Mirrors queue.SimpleQueue: ``put`` never blocks, ``get`` blocks as Queue's does, and an item got is done.

    Keyword arguments (``name``, ``url``, ``token``, ``serializer``, ``sockets``, ``retries``...) are Queue's; the
    queue it opens by name must be an unbounded FIFO one. Each get completes its item at once (a get and a
    task_done), so the queue's join never waits on a SimpleQueue's consumers; an item whose consumer dies
    between the two is delivered again, never lost."""

    __class_getitem__ = classmethod(types.GenericAlias)

    def __init__(self, **options: Any) -> None:
        self._q = Queue(0, **options)
        self.name = self._q.name

    def put(self, item: Any, block: bool = True, timeout: Optional[float] = None) -> None:
        """Never blocks: ``block`` and ``timeout`` are there for compatibility with Queue.put, and ignored."""
        self._q.put(item, block=False)

    def put_nowait(self, item: Any) -> None:
        self.put(item, block=False)

    def get(self, block: bool = True, timeout: Optional[float] = None) -> Any:
        job = self._q.get_job(block, timeout)
        job.done()
        return job.item

    def get_nowait(self) -> Any:
        return self.get(block=False)

    def empty(self) -> bool:
        return self._q.empty()

    def qsize(self) -> int:
        return self._q.qsize()

    def close(self) -> None:
        """multiprocessing.SimpleQueue's close(): no more put or get from this process."""
        self._q.close()
