"""joinable_queues.aio, asyncio's queue interface over the service: asyncio's exceptions, cancellation that loses
nothing, waits woken by other processes (room, a drain, a shutdown), groups, shards, prefetch, a dropped socket, leases
kept alive. Each test runs on the queue's WebSocket (where the websockets library is installed) and over HTTP.
CPython's own asyncio queue tests run in cpython_test_asyncio_queues.py."""
import asyncio
import logging
import os
import sys
import time
import unittest

import joinable_queues as jq
from joinable_queues import _socket, aio
from test_sockets import URL, Proxy

# asyncio's debug mode (which IsolatedAsyncioTestCase turns on) logs each step over 100 ms: the synchronous round trips.
logging.getLogger("asyncio").setLevel(logging.ERROR)
if not _socket.AVAILABLE and os.environ.get("JOINABLE_QUEUES_SOCKETS") == "required":
    raise ImportError(f"{sys.executable} has no websockets library: apt-get install -y python3-websockets")


async def eventually(check, seconds=10.0):
    """Waits on the loop until ``check()`` is true, failing after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {seconds} s: {check.__doc__ or check}")
        await asyncio.sleep(0.02)


class OverSockets(unittest.IsolatedAsyncioTestCase):
    SOCKETS = True

    def setUp(self):
        if self.SOCKETS and not _socket.AVAILABLE:
            self.skipTest("no websockets library: the client stays on HTTP")

    def queue(self, maxsize=0, cls=aio.Queue, **options):
        q = cls(maxsize, sockets=self.SOCKETS, **options)
        self.addAsyncCleanup(q.delete)
        return q

    def test_the_exceptions_are_asyncios_and_the_clients_and_where_no_loop_runs_calls_are_round_trips(self):
        for ours, theirs, client in ((aio.QueueEmpty, asyncio.QueueEmpty, jq.Empty),
                                     (aio.QueueFull, asyncio.QueueFull, jq.Full),
                                     (aio.QueueShutDown, getattr(asyncio, "QueueShutDown", jq.ShutDown), jq.ShutDown)):
            self.assertTrue(issubclass(ours, theirs) and issubclass(ours, client), ours)
        self.assertTrue(issubclass(aio.SendError, jq.QueueError))
        q = self.queue(1.3)  # asyncio takes a float maxsize: room for two
        q.put_nowait("a")  # no loop runs in this thread: each call is the threaded client's, answered by the service
        q.put_nowait("b")
        self.assertEqual((q.full(), q.maxsize), (True, 1.3))
        self.assertRaises(asyncio.QueueFull, q.put_nowait, "c")
        self.assertEqual([q.get_nowait(), q.get_nowait()], ["a", "b"])
        self.assertRaises(asyncio.QueueEmpty, q.get_nowait)
        q.task_done()
        q.task_done()
        self.assertRaises(ValueError, q.task_done)

    async def test_on_the_loop_the_calls_answer_from_what_the_loop_knows(self):
        q = self.queue(1.3)
        q.put_nowait("a")
        await q.put("b")  # room for it: taken without suspending
        self.assertEqual((q.qsize(), q.full(), q.maxsize, q.unfinished_tasks), (2, True, 1.3, 2))
        self.assertRaises(asyncio.QueueFull, q.put_nowait, "c")
        self.assertRaises(asyncio.QueueEmpty, q.get_nowait)  # the items are in the service, not on this loop
        self.assertEqual([await q.get(), await q.get()], ["a", "b"])
        self.assertEqual((q.qsize(), q.empty(), q.full(), q.unfinished_tasks), (0, True, False, 2))
        q.task_done()
        q.task_done()
        self.assertRaises(ValueError, q.task_done)  # this loop knows nothing is unfinished
        await q.join()
        self.assertEqual(jq.Queue(name=q.name).stats()["unfinished_tasks"], 0)
        q.shutdown()
        self.assertTrue(q.is_shutdown)
        self.assertRaises(asyncio.QueueShutDown if sys.version_info >= (3, 13) else jq.ShutDown, q.get_nowait)

    async def test_no_call_holds_the_loop_on_the_network(self):
        # Every call of asyncio's interface, made on the loop: none uses the synchronous transport (a round trip that
        # would hold the loop); what they send goes out in the background, on the loop's own connections.
        q = self.queue(5)
        held = []
        q._q._http.request = lambda *a, **k: held.append(a)
        getting = asyncio.create_task(q.get())
        q.put_nowait(1)
        await q.put(2)
        q.put_nowait(3)
        self.assertEqual((q.qsize(), q.empty(), q.full(), q.maxsize, q.unfinished_tasks), (3, False, False, 5, 3))
        self.assertEqual(await getting, 1)
        job = await q.get_job()
        q.task_done()
        job.done()
        q.maxsize = 6
        await q.join(timeout=0.1)
        self.assertEqual((await q.get(), q.unfinished_tasks), (3, 1))
        q.task_done()
        await q.join()
        q.shutdown()
        with self.assertRaises(aio.QueueShutDown):
            await q.get()
        self.assertTrue(q.is_shutdown)
        await q.aclose()
        self.assertEqual(held, [])
        del q._q._http.request
        self.assertEqual(jq.Queue(name=q.name).stats()["completed"], 3)

    async def test_a_refused_put_is_raised_by_the_next_call_and_refuses_no_other_item(self):
        q = self.queue()
        big = "x" * 200_000  # over the service's 128 KiB an item
        q.put_nowait("a")
        q.put_nowait(big)  # taken: the service refuses it once it is sent
        q.put_nowait("b")  # (the three go in one request, refused whole: then one by one)
        with self.assertRaises(aio.SendError) as failed:
            await q.join()
        self.assertEqual((failed.exception.op, failed.exception.items), ("put", [big]))
        self.assertIsInstance(failed.exception.__cause__, jq.QueueError)
        self.assertEqual([await q.get(), await q.get()], ["a", "b"])
        q.task_done()
        q.task_done()
        self.assertIsNone(await q.join())  # raised once
        self.assertEqual(q.unfinished_tasks, 0)

    async def test_what_other_processes_do_reaches_the_loops_view(self):
        q = self.queue(3)
        other = jq.Queue(name=q.name, sockets=False)
        other.put_many([1, 2])
        await eventually(lambda: q.qsize() == 2)  # read, the view asks for fresh stats in the background
        q.put_nowait(3)
        self.assertRaises(asyncio.QueueFull, q.put_nowait, 4)
        other.get(timeout=5)
        await eventually(lambda: not q.full())
        self.assertEqual(q.unfinished_tasks, 3)

    async def test_gets_that_time_out_as_items_arrive_lose_none(self):
        # Gets given up by asyncio.wait_for while a producer puts: every item is got once or is still in the queue.
        q = self.queue()
        other = jq.Queue(name=q.name, sockets=False)
        got = []

        async def producer():
            for i in range(30):
                await q.put(i)
                await asyncio.sleep(0.01 * (i % 4))

        putting = asyncio.create_task(producer())
        while not putting.done() or q.qsize():
            try:
                got.append(await asyncio.wait_for(q.get(), 0.015))
            except asyncio.TimeoutError:
                pass
        await putting
        await eventually(lambda: other.stats()["in_flight"] == len(got))  # a delivery nobody took went back
        rest = [await q.get() for _ in range(other.stats()["qsize"])]
        self.assertEqual(sorted(got + rest), list(range(30)))

    async def test_a_cancelled_get_hands_its_item_on_or_back(self):
        q = self.queue()
        other = jq.Queue(name=q.name, sockets=False)
        first, second = asyncio.create_task(q.get()), asyncio.create_task(q.get())
        await eventually(lambda: other.stats()["waiting"]["getters"] >= 1)
        q.put_nowait("x")
        first.cancel()  # before its item can arrive: the delivery goes to the next get
        self.assertEqual(await second, "x")
        with self.assertRaises(asyncio.CancelledError):
            await first
        third = asyncio.create_task(q.get())
        await eventually(lambda: other.stats()["waiting"]["getters"] >= 1)
        third.cancel()
        other.put("y")  # another client: nobody here wants it any more
        await eventually(lambda: other.stats()["qsize"] == 1 and other.stats()["in_flight"] == 1)
        self.assertEqual(await q.get(), "y")

    async def test_a_cancelled_put_puts_nothing_and_room_elsewhere_wakes_a_put(self):
        q = self.queue(1)
        q.put_nowait("first")
        waiting = asyncio.create_task(q.put("cancelled"))
        await asyncio.sleep(0.2)
        waiting.cancel()
        with self.assertRaises(asyncio.CancelledError):
            await waiting
        other = jq.Queue(name=q.name)
        putting = asyncio.create_task(q.put("second"))
        await asyncio.sleep(0.2)
        self.assertFalse(putting.done())
        self.assertEqual(other.get(timeout=5), "first")  # room made by another process: the put is told
        await asyncio.wait_for(putting, 10)
        self.assertEqual((await q.get(), q.qsize()), ("second", 0))

    async def test_joins_end_when_another_process_completes_the_work(self):
        q = self.queue()
        await q.put_many(["a", "b"])
        self.assertFalse(await q.join(timeout=0.2))
        joins = [asyncio.create_task(q.join()) for _ in range(3)]
        other = jq.Queue(name=q.name, sockets=False)
        for _ in range(2):
            other.get(timeout=5)
            other.task_done()
        self.assertEqual(await asyncio.wait_for(asyncio.gather(*joins), 30), [None] * 3)
        self.assertTrue(await q.join(timeout=0))

    async def test_a_shutdown_elsewhere_ends_waiting_gets_and_puts(self):
        q = self.queue(1)
        q.put_nowait("kept")
        putting = asyncio.create_task(q.put("refused"))
        await asyncio.sleep(0.2)
        jq.Queue(name=q.name).shutdown()
        with self.assertRaises(aio.QueueShutDown):
            await asyncio.wait_for(putting, 10)
        self.assertEqual(await q.get(), "kept")  # a shut-down queue still gives what it has
        getting = asyncio.create_task(q.get())
        with self.assertRaises(asyncio.QueueShutDown if sys.version_info >= (3, 13) else jq.ShutDown):
            await asyncio.wait_for(getting, 10)
        self.assertTrue(q.is_shutdown)

    async def test_groups_lifo_and_priority(self):
        q = self.queue()
        batch = q.group("batch")
        await batch.put_many([1, 2])
        await q.put("other")
        self.assertEqual([await q.get() for _ in range(3)], [1, 2, "other"])
        q.task_done()
        q.task_done()
        self.assertTrue(await batch.join(timeout=5))  # the group drained; the queue has "other" unfinished
        self.assertEqual(((await batch.stats())["unfinished_tasks"], q.unfinished_tasks), (0, 1))
        lifo = self.queue(cls=aio.LifoQueue)
        prio = self.queue(cls=aio.PriorityQueue)
        for i in [1, 3, 2]:
            await lifo.put(i)
            await prio.put((i, f"job {i}"))
        self.assertEqual([await lifo.get() for _ in range(3)], [2, 3, 1])
        self.assertEqual([await prio.get() for _ in range(3)], [(1, "job 1"), (2, "job 2"), (3, "job 3")])

    async def test_a_cancelled_group(self):
        q = self.queue()
        g = q.group("g")
        await g.put_many(list(range(10)))
        first, second = await q.get_job(), await q.get_job()
        self.assertEqual(await g.cancel(), {"group": "g", "cancelled": 8, "in_flight": 2})
        with self.assertRaises(aio.GroupCancelled):
            g.put_nowait("late")  # this process knows: at once
        self.assertFalse(await g.join(timeout=0.2))
        first.done()
        second.done()
        self.assertTrue(await g.join(timeout=5))  # (after the two completions were answered)
        stats = await g.stats()
        self.assertEqual((stats["state"], stats["cancelled"], stats["completed"]), ("cancelled", 8, 2))
        other = q.group("cancelled-elsewhere")
        await other.put("x")
        self.assertFalse(await q.join(timeout=0.5))  # (after the put was stored)
        jq.Queue(name=q.name, sockets=False).group(other.name).cancel()
        other.put_nowait("refused")  # not known here yet: taken, and refused once sent
        with self.assertRaises(aio.SendError) as failed:
            await q.join()
        self.assertEqual((failed.exception.code, failed.exception.items), ("group_cancelled", ["refused"]))
        self.assertIsInstance(failed.exception.__cause__, jq.GroupCancelled)
        with self.assertRaises(jq.GroupCancelled):
            await other.put("again")  # known now
        self.assertEqual((await other.configure(weight=2))["weight"], 2)

    async def test_a_sharded_queue(self):
        q = self.queue(shards=4)
        for i in range(8):
            await q.put(i, shard_key="k")
        self.assertEqual([await q.get() for _ in range(8)], list(range(8)))
        for _ in range(8):
            q.task_done()
        await asyncio.wait_for(q.join(), 30)
        self.assertEqual((await q.stats())["shards"], 4)

    async def test_a_held_item_keeps_its_lease(self):
        q = self.queue(lease_seconds=2)
        await q.put("slow")
        job = await q.get_job()
        await asyncio.sleep(3)  # longer than the lease: the heartbeat extended it
        job.done()
        await q.join()
        self.assertEqual(((await q.stats())["redeliveries"], q.unfinished_tasks), (0, 0))


class OverHttp(OverSockets):
    SOCKETS = False


@unittest.skipUnless(_socket.AVAILABLE, "no websockets library: the client stays on HTTP")
class SocketOnlyTest(unittest.IsolatedAsyncioTestCase):
    def setUp(self):
        self.proxy = Proxy(URL)
        self.addCleanup(self.proxy.close)

    async def test_prefetched_items_are_got_without_a_round_trip_and_given_back_on_close(self):
        q = aio.Queue(url=self.proxy.url, prefetch=3)
        other = jq.Queue(name=q.name, sockets=False)
        self.addCleanup(other.delete)
        await q.put_many(list(range(6)))
        self.assertEqual(await q.get(), 0)
        await eventually(lambda: len(q._current().ready) == 3)  # the one got, and three ready here
        self.assertEqual(other.stats()["in_flight"], 4)
        asked = []
        q._current().http.request = lambda *a, **k: asked.append(a)  # a round trip from now on is recorded, not made
        self.assertEqual([q.get_nowait() for _ in range(3)], [1, 2, 3])
        self.assertEqual(asked, [])
        del q._current().http.request
        for _ in range(4):
            q.task_done()
        await eventually(lambda: other.stats()["in_flight"] == 2)  # 4 and 5, ready
        await q.aclose()
        stats = other.stats()
        self.assertEqual((stats["qsize"], stats["in_flight"], stats["unfinished_tasks"]), (2, 0, 2))
        await eventually(lambda: self.proxy.open_sockets() == 0)

    async def test_a_dropped_socket_reopens_and_waiting_gets_go_on(self):
        q = aio.Queue(url=self.proxy.url)
        self.addAsyncCleanup(q.delete)
        getting = asyncio.create_task(q.get())
        await eventually(lambda: jq.Queue(name=q.name).stats()["waiting"]["getters"] == 1)
        self.proxy.cut_sockets()
        await asyncio.sleep(0.3)
        q.put_nowait("after")
        self.assertEqual(await asyncio.wait_for(getting, 10), "after")
        self.assertEqual(self.proxy.upgrades, 2)


class AtTheEndOfTheLoopTest(unittest.TestCase):
    def test_what_a_program_put_and_completed_before_its_loop_ended_is_sent(self):
        # asyncio.run ends right after the calls: the items and completions they took are still sent.
        q = aio.Queue(sockets=False)
        other = jq.Queue(name=q.name, sockets=False)
        self.addCleanup(other.delete)

        async def main():
            for i in range(250):
                q.put_nowait(i)
            await q.get()
            q.task_done()
            await q.put("last")

        asyncio.run(main())
        stats = other.stats()
        self.assertEqual((stats["puts"], stats["completed"], stats["unfinished_tasks"]), (251, 1, 250))


if __name__ == "__main__":
    unittest.main()
