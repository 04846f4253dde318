"""One event loop's calls that return before the service has answered them (a put with room, put_nowait, task_done, a
job's done or release, shutdown, a maxsize set): sent in the background, in the order they were made, each request
carrying all that came while the one before was out (group commit: up to 100 items, or 100 receipts). One request at a
time keeps the order the program made them in: a put before a task_done lands first, so a join elsewhere never sees
the count reach 0 between them. Each request is retried as every call of the client is (a put's key, a completion's
receipt make repeats harmless); what fails for good is kept, and raised by the loop's next call on the queue
(SendError). join, aclose and a get on a shut-down queue first wait for what was made before them.

When the loop ends (asyncio.run cancels every task), the sending goes on until all is sent: a program whose last line
is a put_nowait has put its item."""
from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Deque, Dict, List, Optional

from ._errors import GroupCancelled, QueueError, SendError, ShutDown
from ._http import Wait

if TYPE_CHECKING:
    from ._aio_session import Session

BATCH = 100  # items a put carries, receipts a task_done carries (the service's batch)
BYTES = 900_000  # what one put request carries at most, under the service's 1 MiB body
CAP = 1000  # items accepted and not yet stored, beyond which `await put()` waits for the sending to catch up


@dataclass
class Op:
    kind: str  # put, task_done, anonymous, release, shutdown, maxsize
    body: Dict[str, Any]
    items: List[Any] = field(default_factory=list)  # a put's items as given (for SendError), its entries in body
    size: int = 0  # a put's bytes of JSON
    alone: bool = False  # sent in a request of its own (after its batch was refused whole)
    done: Optional[asyncio.Future] = None


class Outbox:
    def __init__(self, session: "Session") -> None:
        self.s = session
        self.ops: Deque[Op] = deque()
        self.items = 0  # put items in ops
        self.current: Optional[List[Op]] = None  # the batch being sent
        self.sending = False  # a request is out
        self.begun = 0  # requests sent: a stats read taken meanwhile may miss one (see View)
        self.failures: Deque[SendError] = deque()
        self.zero = 0  # the number of the last request whose answer said nothing was unfinished
        self._room: Optional[asyncio.Future] = None

    # ---- what the calls add

    def put(self, entries: List[Dict[str, Any]], items: List[Any], group: Optional[str], shard_key: Optional[str],
            key: str) -> None:
        if group is not None:  # each entry carries its group, so that puts of several groups share a request
            entries = [{**entry, "group": group} for entry in entries]
        body: Dict[str, Any] = {"items": entries, "idempotency_key": key}
        if shard_key is not None:
            body["shard_key"] = shard_key
        size = sum(len(json.dumps(e, allow_nan=False)) for e in entries)  # here, so that NaN raises at the call
        self.items += len(entries)
        self.s.view.accepted(len(entries))
        self._add(Op("put", body, list(items), size))

    def task_done(self, receipt: str) -> None:
        self.s.view.completing += 1
        self._add(Op("task_done", {"receipt": receipt}))

    def anonymous(self) -> None:
        self.s.view.completing += 1
        self._add(Op("anonymous", {}))

    def release(self, receipt: str, delay: float) -> None:
        self._add(Op("release", {"receipt": receipt, "delay": delay}))

    def shutdown(self, immediate: bool) -> None:
        self.s.view.shut(immediate)
        self._add(Op("shutdown", {"immediate": immediate}))

    def maxsize(self, value: int) -> None:
        self.s.view.maxsize = value
        self._add(Op("maxsize", {"maxsize": value}))

    def _add(self, op: Op) -> None:
        self.ops.append(op)
        self.s.start("outbox", self._run)

    # ---- what waits for it

    def idle(self) -> bool:
        return not self.ops and not self.sending

    async def flush(self) -> None:
        """Returns once every call made before it has been answered (at once, without suspending, if none is due)."""
        if not self.ops:
            return
        last = self.ops[-1]
        if last.done is None:
            last.done = self.s.loop.create_future()
        self.s.start("outbox", self._run)  # (it may have been cancelled by the loop's end)
        await asyncio.shield(last.done)

    async def below(self, cap: int) -> None:
        """Waits while ``cap`` items or more are accepted and not yet stored."""
        while self.items >= cap:
            if self._room is None or self._room.done():
                self._room = self.s.loop.create_future()
            await asyncio.shield(self._room)

    # ---- sending, one request at a time

    async def _run(self) -> None:
        while self.ops and not self.s.closed:  # (closed: the loop ended, and the last sending gave up)
            self.current = self.current or self._batch()  # the same batch again after a failure: the same key
            self.sending = True
            self.begun += 1
            try:
                await self._send(self.current)
            except asyncio.CancelledError:
                # The loop is ending (asyncio.run cancels every task): what the program was told is done is still
                # sent. The batch goes again: a repeat adds nothing twice (a put's key, a completion's receipt).
                task = asyncio.current_task()
                if task is not None and hasattr(task, "uncancel"):
                    task.uncancel()
                if self.current[0].kind == "anonymous":
                    self._finish(self.current, QueueError("unavailable", 0, "the loop ended while it was sent"))
                continue
            finally:
                self.sending = False
            self.current = None

    def _batch(self) -> List[Op]:
        first = self.ops[0]
        batch = [first]
        if first.kind in ("put", "task_done") and not first.alone:
            count, size = len(first.body.get("items", ())) or 1, first.size
            for op in list(self.ops)[1:]:
                n = len(op.body.get("items", ())) or 1
                if op.kind != first.kind or op.alone or count + n > BATCH or size + op.size > BYTES or \
                        op.body.get("shard_key") != first.body.get("shard_key"):
                    break
                batch.append(op)
                count, size = count + n, size + op.size
        return batch

    async def _send(self, batch: List[Op]) -> None:
        kind, http, path = batch[0].kind, self.s.http, self.s.path
        self.s.send_credit()  # the socket's credit, lowered for what this completes or releases, goes first
        try:
            if kind == "put":
                answer = await self._put(batch)
            elif kind == "task_done":
                receipts = [op.body["receipt"] for op in batch]
                body = {"receipt": receipts[0]} if len(batch) == 1 else {"receipts": receipts}
                answer = await http.request("POST", f"{path}/task_done", body)
            elif kind == "anonymous":  # a repeat would complete a second item: retried only if it never arrived
                answer = await http.request("POST", f"{path}/task_done", {}, safe=False)
            elif kind == "release":
                answer = await http.request("POST", f"{path}/release", batch[0].body, landed=("stale_receipt",))
            elif kind == "shutdown":
                answer = await http.request("POST", f"{path}/shutdown", batch[0].body)
            else:
                answer = await http.request("PATCH", path, batch[0].body)
        except Exception as e:  # noqa: BLE001 - whatever it is, the program learns it from its next call
            if kind == "put" and len(batch) > 1 and isinstance(e, QueueError) and 400 <= e.status < 500 and \
                    e.code not in ("not_found", "shutdown"):
                for op in batch:  # refused whole for one item (too large, a cancelled group...): one by one
                    op.alone = True
                return
            self._finish(batch, e)
            return
        self._finish(batch, None, answer or {})

    async def _put(self, batch: List[Op]) -> Any:
        first = batch[0]
        body = dict(first.body)
        if len(batch) > 1:
            body["items"] = [entry for op in batch for entry in op.body["items"]]
            body["idempotency_key"] = first.body["idempotency_key"] + f"+{len(body['items'])}"
        if self.s.view.maxsize > 0:
            body["block"] = True  # room this loop counted on may have been taken by another process: wait for it
        while True:
            try:
                return await self.s.http.request("POST", f"{self.s.path}/put", Wait(body, None))
            except QueueError as e:
                if e.code != "poll_again":
                    raise

    def _finish(self, batch: List[Op], error: Optional[BaseException], answer: Any = None) -> None:
        for op in batch:
            self.ops.popleft()
            if op.kind == "put":
                self.items -= len(op.body["items"])
            if op.done is not None and not op.done.done():
                op.done.set_result(None)
        self.current = None
        if self._room is not None and not self._room.done():
            self._room.set_result(None)
        if error is None:
            self._answered(batch, answer)
        else:
            self._failed(batch, error)

    def _answered(self, batch: List[Op], answer: Dict[str, Any]) -> None:
        kind, view = batch[0].kind, self.s.view
        if self.s.q._sharded:  # a shard answers its own counts, not the queue's
            answer = {}
        if kind == "put":
            view.stored(sum(len(op.body["items"]) for op in batch))
        elif kind in ("task_done", "anonymous"):
            view.completed(len(batch), answer.get("unfinished_tasks"))
            for op, result in zip(batch, answer.get("results") or ()):
                if result in ("stale", "invalid"):
                    code, status = ("stale_receipt", 409) if result == "stale" else ("invalid_receipt", 400)
                    self.failures.append(SendError("task_done", QueueError(code, status, f"the receipt is {result}")))
        elif kind in ("shutdown", "maxsize") and answer:
            view.take(answer)
        if kind == "shutdown":
            self.s.q._shutdown_seen()
        if answer.get("unfinished_tasks") == 0:
            self.zero = self.begun
            self.s.joins.drained(None)

    def _failed(self, batch: List[Op], error: BaseException) -> None:
        kind, view = batch[0].kind, self.s.view
        if kind == "put":
            view.refused(sum(len(op.body["items"]) for op in batch))
        elif kind in ("task_done", "anonymous"):
            view.completing -= len(batch)
        if isinstance(error, ShutDown):
            self.s.q._shutdown_seen()
        if isinstance(error, GroupCancelled) and len(batch) == 1:  # (a batch refused whole is sent again one by one)
            self.s.q._cancelled.update(e["group"] for e in batch[0].body["items"] if e.get("group") is not None)
        op = {"anonymous": "task_done", "maxsize": "maxsize setter"}.get(kind, kind)
        self.failures.append(SendError(op, error, [item for o in batch for item in o.items]))

    def check(self) -> None:
        """Raises the oldest failure not raised yet."""
        if self.failures:
            raise self.failures.popleft()
