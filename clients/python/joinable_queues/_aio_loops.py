"""The asyncio Queue's part that is per event loop and per process, a base of aio.Queue: its sessions (one per loop
that used it) and the deliveries this process holds. Sync methods may be called from any thread: each session is
touched on its own loop only, and a call where no loop runs is the threaded client's (one round trip, in that
thread)."""
from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from ._aio_session import Session
from ._deliveries import Job

Held = Tuple[Job, Optional[Session]]  # a delivery taken and not task_done'd, and the session that took it


class PerLoop:
    _q: Any  # the threaded queue (aio.Queue sets it): creation, items, and the synchronous HTTP calls

    def _begin_loops(self, stats: Dict[str, Any]) -> None:
        self._known = stats  # the last stats a session took (a new session's view starts from them)
        self._shut = False  # seen shut down (by this client's shutdown, an answer or a frame): for good
        self._lock = threading.Lock()
        self._sessions: Dict[asyncio.AbstractEventLoop, Session] = {}
        self._held: List[Held] = []  # oldest first
        self._cancelled: Set[str] = set()  # groups this process saw cancelled: a put to one raises at once

    # ---- sessions

    def _session(self) -> Session:
        loop = asyncio.get_running_loop()
        with self._lock:
            session = self._sessions.get(loop)
            if session is None or session.closed:
                for old in [lp for lp in self._sessions if lp.is_closed()]:
                    del self._sessions[old]
                session = self._sessions[loop] = Session(self, loop)  # type: ignore[arg-type]
        return session

    def _here(self) -> Optional[Session]:
        """This thread's running loop's session (made on first use), or None where no loop runs: the call is then
        the threaded client's, a round trip that holds nothing but this thread."""
        return self._session() if self._current_loop() is not None else None

    def _current(self) -> Optional[Session]:
        loop = self._current_loop()
        session = self._sessions.get(loop) if loop is not None else None
        return session if session is not None and not session.closed else None

    @staticmethod
    def _current_loop() -> Optional[asyncio.AbstractEventLoop]:
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            return None

    def _on(self, session: Session, fn: Callable[[Session], None]) -> None:
        """Runs fn(session) on the session's loop: now if it is this thread's, else as soon as that loop can."""
        if session.closed or session.loop.is_closed():
            return
        if session is self._current():
            fn(session)
        else:
            with contextlib.suppress(RuntimeError):  # its loop closed meanwhile
                session.loop.call_soon_threadsafe(fn, session)

    def _each(self, fn: Callable[[Session], None]) -> None:
        for session in list(self._sessions.values()):
            self._on(session, fn)

    def _shutdown_seen(self) -> None:
        """The service said the queue is shut down."""
        self._shut = True
        self._each(lambda s: s.shut())

    # ---- deliveries held

    def _take(self, delivery: Dict[str, Any], session: Optional[Session]) -> Job:
        d = delivery
        job = Job(self._q._decode(d["item"]), d["id"], d.get("receipt"), d.get("deliveries", 1), d.get("priority"),
                  d.get("lease_expires_at"), self, threading.get_ident(), d.get("group"))  # type: ignore[arg-type]
        if job.receipt is not None:
            if session is None:  # taken outside any loop (get_nowait from a thread): a loop's heartbeat keeps it
                session = next((s for s in self._sessions.values() if not s.closed and not s.loop.is_closed()), None)
            with self._lock:
                self._held.append((job, session))
            if session is not None:
                self._on(session, lambda s: s.keep_alive())
        return job

    def _pick(self) -> Optional[Held]:
        """This loop's oldest delivery, else this process's oldest."""
        mine = self._current()
        with self._lock:
            return next((e for e in self._held if e[1] is mine), self._held[0] if self._held else None)

    def _held_by(self, session: Session) -> List[Job]:
        with self._lock:
            return [job for job, s in self._held if s is session]

    def _forget(self, job: Job) -> Optional[Held]:
        with self._lock:
            entry = next((e for e in self._held if e[0] is job), None)
            if entry is not None:
                self._held.remove(entry)
        return entry

    def _end(self, entry: Held, op: str, delay: float = 0) -> None:
        """task_done or release of a delivery: on a loop, sent in the background by its outbox, else over HTTP now.
        The socket that holds it lowers its credit first, so that the credit it frees brings nothing unasked."""
        here = self._here()
        if here is not None:
            here.outbox.check()  # a failure of something sent before is raised instead
        job, session = entry
        self._forget(job)
        if session is not None:
            self._on(session, lambda s: s.finished(job.receipt))
        if here is None:
            body = {"receipt": job.receipt, **({"delay": delay} if op == "release" else {})}
            landed = ("stale_receipt",) if op == "release" else ()
            self._q._http.request("POST", f"{self._q._path}/{op}", body, landed=landed)
        elif op == "release":
            here.outbox.release(job.receipt, delay)  # type: ignore[arg-type]
        else:
            here.outbox.task_done(job.receipt)  # type: ignore[arg-type]

    def _entry(self, job: Job) -> Held:
        with self._lock:
            return next((e for e in self._held if e[0] is job), (job, None))

    def _complete(self, job: Job) -> None:  # Job.done()
        self._end(self._entry(job), "task_done")

    def _release(self, job: Job, delay: float) -> None:  # Job.release()
        self._end(self._entry(job), "release", delay)
