"""One delivery of an item (Job), and the deliveries this process holds: taken on the socket or over HTTP, their
leases extended by a heartbeat while they are held, completed or released on the socket that holds them if any."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from . import _socket
from ._errors import QueueError


@dataclass
class Job:
    """One delivery of an item: ``done()`` completes exactly it; ``release()`` gives it back. ``cancelled`` turns
    True when the service says its group was cancelled (the lease heartbeat's answer, or done()'s): the work may stop
    there, and done() still ends the delivery."""

    item: Any
    id: int
    receipt: Optional[str]
    deliveries: int
    priority: Any
    lease_expires_at: Optional[float]
    _queue: "Deliveries" = field(repr=False, compare=False)
    _thread: int = field(default=0, repr=False, compare=False)
    group: Optional[str] = None
    cancelled: bool = False

    def done(self) -> None:
        self._queue._complete(self)

    def release(self, delay: float = 0) -> None:
        self._queue._release(self, delay)


class Deliveries:
    """Queue's part that holds deliveries, a base of Queue: it works on the state Queue sets up (see _begin)."""

    def _consumer(self) -> Optional[_socket.SocketConsumer]:
        """This process's socket consumer, if sockets are on (a queue without leases stays on HTTP: its deliveries
        carry no receipt to count credit by)."""
        if not self._sockets or self._lease is None:
            return None
        with self._lock:
            if self._socket is None:
                self._socket = _socket.SocketConsumer(self._http.url, self._http.token, self._path, self._prefetch)
            return self._socket

    def _hold(self, jobs: List[Job]) -> List[Job]:
        if jobs and jobs[0].receipt is not None:
            with self._lock:
                self._held.extend(jobs)
            self._keep_alive()
        return jobs

    def _job(self, d: Dict[str, Any]) -> Job:
        item = self._decode(d["item"])
        return Job(item, d["id"], d["receipt"], d["deliveries"], d["priority"], d["lease_expires_at"], self,
                   threading.get_ident(), d.get("group"))

    def _pick(self) -> Optional[Job]:
        with self._lock:
            mine = [j for j in self._held if j._thread == threading.get_ident()]
            return (mine or self._held or [None])[0]

    def _complete(self, job: Job) -> None:
        self._forget(job)
        answer = self._over_socket("task_done", job.receipt)
        if answer is None:
            # By receipt a repeat answers "replayed"; without one (a queue without leases) it would be a second call.
            receipt = {"receipt": job.receipt} if job.receipt else {}
            answer = self._http.request("POST", f"{self._path}/task_done", receipt, safe=bool(job.receipt))
        job.cancelled = job.cancelled or bool((answer or {}).get("cancelled"))

    def _release(self, job: Job, delay: float) -> None:
        self._forget(job)
        if self._over_socket("release", job.receipt, delay=delay) is None:
            # A repeat of a release that landed finds its delivery closed: stale_receipt then means it was released.
            body = {"receipt": job.receipt, "delay": delay}
            self._http.request("POST", f"{self._path}/release", body, landed=("stale_receipt",))

    def _over_socket(self, op: str, receipt: Optional[str], **fields: Any) -> Optional[Dict[str, Any]]:
        """A delivery the socket holds ends (or is extended) on the socket: the answer, or None to use HTTP."""
        consumer = self._socket
        if consumer is None or not consumer.holds(receipt):
            return None
        try:
            return consumer.finish(op, receipt, **fields)  # type: ignore[arg-type]
        except _socket.Unavailable:
            return None

    def _forget(self, job: Job) -> None:
        with self._lock:
            if job in self._held:
                self._held.remove(job)

    def _keep_alive(self) -> None:
        """Starts the heartbeat: while this process holds an item, its lease is extended before half of it passes,
        so a slow but live consumer keeps its job and one killed loses it after one lease."""
        with self._lock:
            if self._heartbeat is None or not self._heartbeat.is_alive():
                name = f"joinable-queues heartbeat {self.name}"
                self._heartbeat = threading.Thread(target=self._beat, name=name, daemon=True)
                self._heartbeat.start()

    def _beat(self) -> None:
        while True:
            with self._lock:
                held = list(self._held)
            if not held:
                return
            now_ms = time.time() * 1000
            for job in held:
                if job.lease_expires_at is not None and job.lease_expires_at - now_ms < self._lease * 500:
                    try:
                        extend = {"receipt": job.receipt, "lease_seconds": self._lease}
                        answer = self._over_socket("extend", job.receipt, lease_seconds=self._lease) or \
                            self._http.request("POST", f"{self._path}/extend", extend)
                        job.lease_expires_at = answer["lease_expires_at"]
                        job.cancelled = job.cancelled or bool(answer.get("cancelled"))  # its group was cancelled
                    except QueueError as e:
                        if e.status == 0 or e.status >= 500 or e.status in (408, 429):
                            continue  # the service is out of reach after the retries: try again on the next beat
                        self._forget(job)  # already completed, or lost: nothing left to keep alive
            time.sleep(min(1.0, self._lease / 4))
