"""What one event loop knows of its queue's counts without asking: the service's last answer, moved by what this loop
did since (items put here and not yet stored, deliveries taken, completions not yet answered). qsize(), empty(),
full(), a put's room and get_nowait's shutdown read it; nothing here touches the network.

For a queue only this loop uses, it is exact. What other processes do reaches it with the next answer: a
completion's answer (the queue's unfinished count), a shutdown's (every count), the stats the socket sends while puts
wait for room, or a read of the stats (qsize() asks for one in the background when the view is older than FRESH).
An answer is taken whole only when it cannot miss or count twice something of this loop's: with no call of this loop
on its way, and, for a read over HTTP, no delivery on its way either (the socket's stats come in order with its
deliveries)."""
from __future__ import annotations

import time
from typing import Any, Dict

FRESH = 0.1  # seconds: a view older than this is refreshed in the background when read (the socket's stats rate)


class View:
    def __init__(self, stats: Dict[str, Any]) -> None:
        """``stats``: the queue's last known (the session's view starts from it, and keeps it up to date)."""
        self.known = stats
        self.maxsize = int(stats.get("maxsize") or 0)
        self.shutdown = bool(stats.get("shutdown"))  # asked for here, or seen
        self.since_shutdown = self.shutdown  # the counts are the service's from after it shut down (none can be put)
        self.queued = int(stats.get("qsize") or 0)  # the service's qsize: may go below 0 while a put is on its way
        self.unfinished = int(stats.get("unfinished_tasks") or 0)
        self.pending = 0  # items accepted here and not yet stored
        self.completing = 0  # task_dones accepted here and not yet answered
        self.at = time.monotonic()

    # ---- what the calls read

    def size(self) -> int:
        return max(0, self.queued + self.pending)

    def unfinished_tasks(self) -> int:
        return max(0, self.unfinished + self.pending - self.completing)

    def full(self) -> bool:
        return 0 < self.maxsize <= self.size()

    def room(self, n: int) -> bool:
        return self.maxsize <= 0 or self.size() + n <= self.maxsize

    def stale(self) -> bool:
        return time.monotonic() - self.at > FRESH

    # ---- what this loop did

    def accepted(self, n: int) -> None:
        self.pending += n

    def stored(self, n: int) -> None:
        self.pending -= n
        self.queued += n
        self.unfinished += n

    def refused(self, n: int) -> None:
        self.pending -= n

    def taken(self) -> None:
        """A delivery reached this loop: the service's qsize went down when it sent it."""
        self.queued -= 1

    def returned(self) -> None:
        self.queued += 1

    def completed(self, n: int, unfinished: Any = None) -> None:
        """``n`` task_dones answered; the answer's count, if it carries one, is the service's own."""
        self.completing -= n
        if isinstance(unfinished, int):
            self.unfinished = unfinished
        else:
            self.unfinished -= n

    def shut(self, immediate: bool) -> None:
        """shutdown() asked for here: what is queued, and what this loop's puts before it will add, is drained."""
        self.shutdown = True
        if immediate:
            self.unfinished -= self.queued + self.pending
            self.queued = -self.pending

    # ---- the service's answers

    def take(self, stats: Dict[str, Any]) -> None:
        """Stats the service answered after every call of this loop sent before them, and with none on its way."""
        self.maxsize = int(stats.get("maxsize") or 0)
        self.queued = int(stats.get("qsize") or 0)
        self.unfinished = int(stats.get("unfinished_tasks") or 0)
        if stats.get("shutdown"):
            self.shutdown = True
        self.since_shutdown = self.shutdown and bool(stats.get("shutdown"))
        self.at = time.monotonic()
        self.known.update(stats)
