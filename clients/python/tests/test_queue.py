"""queue.Queue's behaviour, method by method, with threads, against a running service (JOINABLE_QUEUES_URL)."""
import pickle
import queue
import sys
import threading
import time
import unittest

import joinable_queues as jq


def later(seconds, fn, *args):
    t = threading.Timer(seconds, fn, args)
    t.start()
    return t


class QueueTest(unittest.TestCase):
    def test_exceptions_are_pythons(self):
        self.assertTrue(issubclass(jq.Empty, queue.Empty))
        self.assertTrue(issubclass(jq.Full, queue.Full))
        if sys.version_info >= (3, 13):
            self.assertTrue(issubclass(jq.ShutDown, queue.ShutDown))

    def test_put_get_task_done_join_and_the_counter(self):
        q = jq.Queue()
        q.put("a")
        q.put("b")
        self.assertEqual((q.qsize(), q.unfinished_tasks, q.empty(), q.full()), (2, 2, False, False))
        self.assertEqual(q.get(), "a")
        self.assertEqual(q.unfinished_tasks, 2)  # get does not touch the counter
        q.task_done()
        self.assertFalse(q.join(timeout=0.2))
        self.assertEqual(q.get(), "b")
        q.task_done()
        self.assertTrue(q.join(timeout=1))
        self.assertIsNone(q.join())  # CPython's join answers None; only join(timeout=...) says whether it drained
        with self.assertRaisesRegex(ValueError, r"task_done\(\) called too many times"):
            q.task_done()

    def test_blocking_get_released_by_put_and_put_by_get(self):
        q = jq.Queue(1)
        later(0.3, q.put, "late")
        self.assertEqual(q.get(timeout=10), "late")
        q.put("first")
        later(0.3, q.get)
        started = time.monotonic()
        q.put("second", timeout=10)
        self.assertGreater(time.monotonic() - started, 0.2)
        self.assertEqual(q.qsize(), 1)

    def test_join_released_by_the_last_task_done(self):
        q = jq.Queue()
        for i in range(3):
            q.put(i)

        def work():
            for _ in range(3):
                q.get()
                time.sleep(0.05)
                q.task_done()

        threading.Thread(target=work).start()
        self.assertTrue(q.join(timeout=20))
        self.assertEqual(q.unfinished_tasks, 0)

    def test_timeouts_and_nonblocking(self):
        q = jq.Queue(1)
        with self.assertRaises(queue.Empty):
            q.get(timeout=0.2)
        with self.assertRaises(queue.Empty):
            q.get_nowait()
        with self.assertRaises(queue.Empty):
            q.get(block=False, timeout=-1)  # a non-blocking call ignores timeout, as in CPython
        q.put(1)
        with self.assertRaises(queue.Full):
            q.put(2, timeout=0.2)
        with self.assertRaises(queue.Full):
            q.put_nowait(2)
        with self.assertRaises(ValueError):
            q.get(timeout=-1)
        with self.assertRaises(ValueError):
            q.join(timeout=-1)

    def test_block_and_timeout_read_as_cpython_reads_them(self):
        q = jq.Queue(1)
        q.put("a", block=0, timeout=10**9)  # any truthiness; a timeout past the service's cap is more polls
        with self.assertRaises(queue.Full):
            q.put("b", block=0)
        self.assertEqual(q.get(1, 10**9), "a")
        with self.assertRaises(queue.Empty):
            q.get(0, timeout="a call that does not block never reads it")

    def test_cpython_details(self):
        self.assertIs(jq.Queue[int].__origin__, jq.Queue)  # CPython's queues are generic
        q = jq.Queue(-1)  # any maxsize <= 0 is unbounded
        q.put_many(list(range(3)))
        self.assertEqual((q.maxsize, q.full()), (0, False))
        self.assertFalse(q.is_shutdown)
        q.shutdown()
        self.assertTrue(q.is_shutdown)

    def test_shutdown_wakes_blocked_callers(self):
        q = jq.Queue(1)
        later(0.3, q.shutdown)
        with self.assertRaises(jq.ShutDown):
            q.get(timeout=10)
        with self.assertRaises(jq.ShutDown):
            q.put(1)

    def test_immediate_shutdown_drains(self):
        q = jq.Queue()
        q.put_many([1, 2, 3])
        q.shutdown(immediate=True)
        self.assertEqual((q.qsize(), q.unfinished_tasks), (0, 0))
        with self.assertRaises(jq.ShutDown):
            q.get()

    def test_lifo_and_priority_orders(self):
        lifo = jq.LifoQueue()
        for i in range(3):
            lifo.put(i)
        self.assertEqual([lifo.get() for _ in range(3)], [2, 1, 0])
        pq = jq.PriorityQueue()
        # Tuples compare element by element; a number sorts before any tuple (where Python would refuse to compare).
        # The key stops where the service's index ends, at two levels of tuples and after 64 characters of a string:
        # the two long strings are equal there, so they come out first in, first out.
        long = "x" * 100
        items = [(2, "b"), (1, "z", long + "2"), (1, "z", long + "1"), (1, "a"), ("x", 0), (0.5, {"unorderable": 1}), 3,
                 (0, (1, (2, (3,))), b"bytes")]
        for item in items:
            pq.put(item)
        got = [pq.get() for _ in items]
        self.assertEqual(got, [3, (0, (1, (2, (3,))), b"bytes"), (0.5, {"unorderable": 1}), (1, "a"),
                               (1, "z", long + "2"), (1, "z", long + "1"), (2, "b"), ("x", 0)])

    def test_items_come_back_exactly(self):
        for q in (jq.Queue(), jq.LifoQueue()):
            for item in [1.0, -0.0, 9007199254740993, {"b": 1, "2": 2, "1": 3}, "caf\u00e9", [None, True],
                         ("url", 2), (1, (2, [3, (4,)])), (), b"\x00\xff", {"at": (1, 2), "raw": b""},
                         {"$tuple": "x", "$ref": "y"}]:
                q.put(item)
                self.assertEqual(repr(q.get()), repr(item))  # a repr tells a tuple from a list, 1.0 from 1

    def test_what_json_cannot_carry_is_a_type_error_at_put(self):
        q = jq.Queue()
        # {"$tuple": [...]} and {"$bytes": "..."} are how tuples and bytes travel: such a dict would not come back.
        for item in [{1, 2}, bytearray(b"x"), object(), float("nan"), {1: "a"}, {"$tuple": [1]}, [{"$bytes": ""}]]:
            with self.assertRaises(TypeError):
                q.put(item)
        self.assertEqual(q.qsize(), 0)
        pickled = jq.Queue(serializer=(pickle.dumps, pickle.loads))  # pickle's bytes are items as they are
        pickled.put({1, 2})
        self.assertEqual(pickled.get(), {1, 2})

    def test_maxsize_can_change_and_releases_putters(self):
        q = jq.Queue(1)
        q.put(1)

        def grow():
            q.maxsize = 2

        later(0.3, grow)
        q.put(2, timeout=10)
        self.assertEqual((q.maxsize, q.qsize()), (2, 2))

    def test_a_named_queue_is_shared_and_checked(self):
        a = jq.Queue(5, name=f"shared-{time.time_ns()}")
        b = jq.Queue(name=a.name)
        a.put("hello")
        self.assertEqual(b.get(), "hello")
        b.task_done()
        self.assertTrue(a.join(timeout=1))
        with self.assertRaisesRegex(ValueError, "maxsize"):
            jq.Queue(6, name=a.name)
        with self.assertRaisesRegex(ValueError, "order"):
            jq.LifoQueue(name=a.name)

    def test_task_done_completes_this_threads_oldest_item(self):
        q = jq.Queue()
        q.put_many(["x", "y"])
        other = []
        t = threading.Thread(target=lambda: other.append(q.get_job()))
        t.start()
        t.join()
        mine = q.get_job()
        q.task_done()  # completes this thread's item, not the other thread's older one
        stats = q.stats()
        self.assertEqual((stats["unfinished_tasks"], stats["leased"]), (1, 1))
        mine.done()  # completing the same delivery again changes nothing
        self.assertEqual(q.unfinished_tasks, 1)
        other[0].done()
        self.assertTrue(q.join(timeout=1))

    def test_jobs_batches_and_release(self):
        q = jq.Queue()
        q.put_many(list(range(5)))
        jobs = q.get_many(10)
        self.assertEqual([j.item for j in jobs], [0, 1, 2, 3, 4])
        jobs[0].release()
        again = q.get_job()
        self.assertEqual((again.item, again.deliveries), (0, 2))
        for j in [again, *jobs[1:]]:
            j.done()
        self.assertEqual(q.unfinished_tasks, 0)

    def test_task_done_many_completes_each_job_and_says_how(self):
        q = jq.Queue()
        q.put_many(list(range(100)))
        q.put_many(list(range(100, 150)))
        jobs = q.get_many(100) + q.get_many(100)
        self.assertEqual(len(jobs), 150)
        jobs[0].release()  # its delivery has ended
        self.assertEqual(q.task_done_many(jobs[1:] + [jobs[1], jobs[0]]), ["done"] * 149 + ["replayed", "stale"])
        self.assertEqual(q.unfinished_tasks, 1)
        q.get_job().done()
        self.assertIsNone(q.join())

    def test_put_many_sends_100_a_request_keyed_as_the_typescript_client_does(self):
        q = jq.Queue()
        sent = []
        request = q._http.request

        def recording(method, path, body=None, headers=None):
            sent.append((path.rsplit("/", 1)[-1], body, headers))
            return request(method, path, body, headers)

        q._http.request = recording
        q.put_many(list(range(250)), timeout=30)
        puts = [(body, headers["idempotency-key"]) for verb, body, headers in sent if verb == "put"]
        self.assertEqual([len(body["items"]) for body, _ in puts], [100, 100, 50])  # each all or nothing
        self.assertTrue(all(0 < body["timeout"] <= 30 for body, _ in puts))  # one deadline for the whole call
        call_key = puts[0][1].rsplit(":", 1)[0]  # one key for the call, then each batch's first index
        self.assertEqual([key for _, key in puts], [f"{call_key}:{start}" for start in (0, 100, 200)])
        # A batch sent again with its key (a retry after a lost answer) adds nothing.
        again = request("POST", f"{q._path}/put", puts[1][0], {"idempotency-key": puts[1][1]})
        self.assertEqual((again["replayed"], len(again["ids"]), q.qsize()), (True, 100, 250))
        q.put_many([])
        self.assertEqual(len(sent), 4)  # nothing to put, nothing sent (the stats call above is the fourth)
        with self.assertRaisesRegex(ValueError, "non-negative"):
            q.put_many([1], timeout=-1)

    def test_a_timeout_past_the_services_longest_is_a_longer_wait_not_an_error(self):
        q = jq.Queue(sockets=False)  # what is counted here is HTTP's polls; a get on a socket has no cap to poll across
        sent = []
        request = q._http.request
        q._http.request = lambda method, path, body=None, headers=None: (
            sent.append(body), request(method, path, body, headers))[1]
        q.put("a", timeout=1e6)
        q.put_many(["b", "c"], timeout=10 * 86_400)
        self.assertEqual(q.get(timeout=1e6), "a")
        self.assertEqual([b["timeout"] for b in sent if b and "timeout" in b], [86_400] * 3)

    def test_a_slow_consumer_keeps_its_item_past_its_lease(self):
        q = jq.Queue(lease_seconds=2)
        q.put("slow")
        job = q.get_job()
        time.sleep(4.5)  # two leases: the heartbeat extends it
        self.assertEqual(q.stats()["redeliveries"], 0)
        job.done()
        self.assertTrue(q.join(timeout=1))


class GroupTest(unittest.TestCase):
    def test_the_classic_with_two_groups_sharing_one_pool_of_workers(self):
        """Two callers fan out work to one pool of threads; each joins only its own group."""
        q = jq.Queue()
        done = []

        def worker():
            while True:
                try:
                    item = q.get()
                except jq.ShutDown:
                    return
                done.append(item)
                time.sleep(0.01)
                q.task_done()

        pool = [threading.Thread(target=worker) for _ in range(3)]
        for t in pool:
            t.start()
        a, b = q.group("caller-a"), q.group("caller-b")
        a.put_many([f"a{i}" for i in range(5)])
        for i in range(3):
            q.put(f"b{i}", group="caller-b")
        self.assertIsNone(b.join())
        self.assertTrue(q.join(timeout=10, group="caller-a"))
        counts = {"group": "caller-a", "unfinished_tasks": 0, "in_flight": 0, "puts": 5, "completed": 5,
                  "dead_lettered": 0}
        stats = a.stats()  # (with the fair groups' fields: state, weight, max_in_flight, cancelled, ...)
        self.assertEqual({k: stats[k] for k in counts}, counts)
        self.assertEqual(b.unfinished_tasks, 0)
        self.assertTrue(q.join(timeout=1))
        q.shutdown()
        for t in pool:
            t.join()
        self.assertEqual(sorted(done), sorted([f"a{i}" for i in range(5)] + [f"b{i}" for i in range(3)]))

    def test_a_group_join_waits_for_its_items_only_and_jobs_carry_their_group(self):
        q = jq.Queue()
        q.put("x", group="g")
        q.put("y")
        self.assertFalse(q.join(timeout=0, group="g"))
        self.assertTrue(q.join(timeout=0, group="never-put"))
        job = q.get_job()
        self.assertEqual((job.item, job.group), ("x", "g"))
        self.assertEqual(q.get_job().group, None)
        job.done()
        self.assertTrue(q.join(timeout=0, group="g"))
        self.assertFalse(q.join(timeout=0))
        with self.assertRaises(jq.QueueError) as e:
            q.group("unknown").stats()
        self.assertEqual(e.exception.code, "not_found")
        with self.assertRaises(jq.QueueError) as e:
            q.put(1, group="not a name")
        self.assertEqual(e.exception.code, "invalid_request")

    def test_a_cancelled_group_takes_no_more_items_and_its_join_waits_for_what_is_out(self):
        q = jq.Queue()
        self.addCleanup(q.delete)
        g = q.group("g")
        g.put_many(list(range(10)))
        q.put("other")
        first, second = q.get_job(timeout=5), q.get_job(timeout=5)
        self.assertEqual(g.cancel(), {"group": "g", "cancelled": 8, "in_flight": 2})
        with self.assertRaises(jq.GroupCancelled) as refused:
            g.put("late")
        self.assertEqual((refused.exception.code, refused.exception.status), ("group_cancelled", 410))
        self.assertIsInstance(refused.exception, jq.QueueError)
        self.assertFalse(g.join(timeout=0.2))  # its two deliveries are still out
        first.done()
        self.assertTrue(first.cancelled)  # (the completion's answer says so)
        second.done()
        self.assertTrue(g.join(timeout=5))
        stats = g.stats()
        self.assertEqual({k: stats[k] for k in ("state", "cancelled", "completed", "unfinished_tasks", "in_flight")},
                         {"state": "cancelled", "cancelled": 8, "completed": 2, "unfinished_tasks": 0, "in_flight": 0})
        self.assertEqual((q.unfinished_tasks, q.get(timeout=5)), (1, "other"))  # the rest of the queue goes on
        q.task_done()
        self.assertEqual(g.cancel()["cancelled"], 0)  # a repeat
        with self.assertRaises(jq.QueueError) as unknown:
            q.group("unknown").cancel()
        self.assertEqual(unknown.exception.code, "not_found")

    def test_the_heartbeat_tells_a_job_its_group_was_cancelled(self):
        q = jq.Queue(lease_seconds=2)
        self.addCleanup(q.delete)
        q.put("slow", group="h")
        job = q.get_job(timeout=5)
        q.group("h").cancel()
        deadline = time.monotonic() + 10
        while not job.cancelled and time.monotonic() < deadline:
            time.sleep(0.05)  # the heartbeat extends the lease before half of it passes: its answer says cancelled
        self.assertTrue(job.cancelled)
        job.done()
        self.assertTrue(q.join(timeout=5, group="h"))

    def test_fair_dispatch_and_a_groups_settings(self):
        q = jq.Queue(dispatch="fair", group_max_in_flight=1, group_retention_seconds=3600)
        self.addCleanup(q.delete)
        stats = q.stats()
        self.assertEqual((stats["dispatch"], stats["group_max_in_flight"], stats["group_retention_seconds"]),
                         ("fair", 1, 3600))
        q.group("a").put_many(["a1", "a2", "a3"])
        q.group("b").put_many(["b1", "b2"])
        taken = [q.get_job(block=False), q.get_job(block=False)]
        self.assertEqual(sorted(job.item for job in taken), ["a1", "b1"])  # in turn, one each: the cap is 1
        with self.assertRaises(jq.Empty):
            q.get(block=False)
        settings = q.group("a").configure(weight=3, max_in_flight=2)
        self.assertEqual((settings["weight"], settings["max_in_flight"], settings["state"]), (3, 2, "open"))
        self.assertEqual(q.get_job(block=False).item, "a2")
        self.assertEqual(q.group("a").configure(max_in_flight=None)["max_in_flight"], 1)  # the queue's cap again
        self.assertEqual(q.group("a").stats()["weight"], 3)
        jq.Queue(name=q.name, dispatch="fair")  # opens it: as asked
        with self.assertRaisesRegex(ValueError, "dispatch='fair'.*asked for dispatch='fifo'"):
            jq.Queue(name=q.name, dispatch="fifo")


if __name__ == "__main__":
    unittest.main()
