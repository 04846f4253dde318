"""Queues passed to other processes: multiprocessing's classic program under each start method, a forked child
beside its parent, pickling, and every kind of item between two processes (and on to python.test.ts)."""
import multiprocessing
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path
from subprocess import PIPE

import joinable_queues as jq

PROGRAMS = Path(__file__).parent / "programs"

# Every kind of item the client carries; python.test.ts reads them as the README says a TypeScript consumer sees them.
ITEMS = [
    ("https://example.com/a", 2),
    (1, (2.5, ("deep", None)), []),
    b"\x00\xff\x89PNG",
    {"frame": b"\x01\x02", "at": (3, 4), "tags": ["a", "b"]},
    [(1, 2), [3, 4]],
    {"$ref": "#/x", "$tuple": [1]},  # two keys: a plain dict
    (),
    "text",
    1.0,
    None,
    True,
]
PRIORITY_ITEMS = [(1, "resize"), (0, ("nested", 2), b"x")]


def _echo(inbox, outbox, n):
    for _ in range(n):
        outbox.put(inbox.get())
        inbox.task_done()


def _beside_the_parent(q, start, rounds):
    assert q.get() == "child's"
    q.task_done()  # the child's own item: the parent's is not the child's to complete
    start.wait()
    for i in range(rounds):
        q.put(("child", i))
        assert q.stats()["name"] == q.name


class MultiprocessingTest(unittest.TestCase):
    def test_the_classic_program_runs_with_only_its_import_changed_under_every_start_method(self):
        source = (PROGRAMS / "classic_multiprocessing.py").read_text()
        changed = source.replace(
            "from multiprocessing import JoinableQueue\n", "from joinable_queues import JoinableQueue\n")
        self.assertNotEqual(changed, source)
        expected = "All tasks processed! [0, 1, 4, 9, 16, 25]\nworkers exited [0, 0]\n"
        with tempfile.TemporaryDirectory() as folder:
            program = Path(folder) / "classic.py"  # a file: spawn and forkserver import it in each worker
            program.write_text(changed)
            methods = ["fork", "spawn", "forkserver"]  # at once: each waits mostly on starting its workers
            runs = [subprocess.Popen([sys.executable, str(program), m], stdout=PIPE, stderr=PIPE, text=True)
                    for m in methods]
            for method, run in zip(methods, runs):
                out, err = run.communicate(timeout=120)
                with self.subTest(method=method):
                    self.assertEqual((run.returncode, out), (0, expected), err)
        # Unchanged, on multiprocessing's own queue, it prints the same.
        unchanged = [sys.executable, str(PROGRAMS / "classic_multiprocessing.py"), "fork"]
        stdlib = subprocess.run(unchanged, capture_output=True, text=True, timeout=60)
        self.assertEqual(stdlib.stdout, expected)

    def test_a_forked_child_and_its_parent_use_one_queue_object_at_once(self):
        rounds = 60
        q = jq.Queue()
        q.put_many(["parent's", "child's"])
        held = q.get_job()  # the parent holds an item, a kept-alive connection and a heartbeat across the fork
        ctx = multiprocessing.get_context("fork")
        start = ctx.Barrier(2)
        child = ctx.Process(target=_beside_the_parent, args=(q, start, rounds))
        child.start()
        start.wait()
        for i in range(rounds):
            q.put(("parent", i))
            self.assertEqual(q.stats()["name"], q.name)
        child.join(60)
        self.assertEqual(child.exitcode, 0)
        held.done()
        jobs = q.get_many(100, block=False) + q.get_many(100, block=False)
        self.assertEqual(sorted(j.item for j in jobs), [(who, i) for who in ("child", "parent") for i in range(rounds)])
        for job in jobs:
            job.done()
        self.assertTrue(q.join(timeout=5))  # had the child completed the parent's item, its own would still be out

    def test_every_item_comes_back_from_another_process_as_it_was_put(self):
        inbox, outbox = jq.Queue(), jq.Queue()
        inbox.put_many(ITEMS)
        child = multiprocessing.get_context("spawn").Process(target=_echo, args=(inbox, outbox, len(ITEMS)))
        child.start()
        child.join(60)
        self.assertEqual(child.exitcode, 0)
        self.assertEqual([repr(outbox.get(timeout=10)) for _ in ITEMS], [repr(i) for i in ITEMS])
        handoff = os.environ.get("JOINABLE_QUEUES_HANDOFF")
        if handoff:  # python.test.ts reads these with plain fetch
            jq.Queue(name=handoff).put_many(ITEMS)
            jq.PriorityQueue(name=f"{handoff}-priority").put_many(PRIORITY_ITEMS)


class PicklingTest(unittest.TestCase):
    def test_a_pickled_queue_is_the_same_service_queue(self):
        for cls in (jq.Queue, jq.LifoQueue, jq.PriorityQueue, jq.JoinableQueue):
            with self.subTest(cls=cls.__name__):
                q = cls(3, lease_seconds=5)
                copy = pickle.loads(pickle.dumps(q))
                self.assertIs(type(copy), cls)
                copy.put((1, b"x"))
                self.assertEqual((q.get(), q.maxsize, copy.stats()["lease_seconds"]), ((1, b"x"), 3, 5))
                q.task_done()
                self.assertIsNone(copy.join())

    def test_items_a_process_holds_stay_its_own(self):
        q = jq.Queue()
        q.put("held")
        held = q.get_job()
        data = pickle.dumps(q)
        self.assertNotIn(held.receipt.encode(), data)
        copy = pickle.loads(data)
        copy.put("the copy's")
        self.assertEqual(copy.get(), "the copy's")
        copy.task_done()  # completes the copy's item, not the one q holds
        held.done()
        self.assertTrue(q.join(timeout=5))

    def test_a_serializer_travels_with_the_queue(self):
        q = jq.Queue(serializer=(pickle.dumps, pickle.loads))  # bytes are items, so pickle needs no base64
        pickle.loads(pickle.dumps(q)).put({1, 2})
        self.assertEqual(q.get(), {1, 2})


class CloseTest(unittest.TestCase):
    """multiprocessing.Queue's close(), join_thread() and cancel_join_thread(), where the feeder thread's unflushed
    data are the puts this process's threads have under way."""

    def _blocked_put(self, q, item):
        """A put under way in another thread: the queue is full, so it waits for room."""
        putter = threading.Thread(target=q.put, args=(item,))
        putter.start()
        deadline = time.monotonic() + 10
        while q.stats()["waiting"]["putters"] != 1:
            self.assertLess(time.monotonic(), deadline, "the put never began to wait")
            time.sleep(0.02)
        return putter

    def test_close_ends_this_processs_puts_and_gets_not_its_work(self):
        q = jq.JoinableQueue()
        q.put_many(["a", "b"])
        self.assertEqual(q.get(), "a")
        q.close()
        q.close()  # again: nothing more to do
        for call in (lambda: q.put("c"), lambda: q.put_many(["c"]), q.get, q.get_nowait, lambda: q.get_many(1)):
            with self.assertRaisesRegex(ValueError, "is closed"):
                call()
        q.task_done()  # what this process holds, it still finishes
        self.assertEqual((q.qsize(), q.unfinished_tasks), (1, 1))
        # Closed is this process's view: a copy passed to another process (or opened by name) is open.
        for other in (pickle.loads(pickle.dumps(q)), jq.JoinableQueue(name=q.name)):
            other.put("c")
        self.assertFalse(q.join(timeout=0.1))

    def test_join_thread_waits_for_the_puts_under_way(self):
        q = jq.Queue(1)
        q.put("first")
        with self.assertRaisesRegex(AssertionError, "not closed"):
            q.join_thread()  # as multiprocessing: only after close()
        putter = self._blocked_put(q, "second")
        q.close()  # a put already under way goes on
        joined = threading.Event()
        joiner = threading.Thread(target=lambda: (q.join_thread(), joined.set()))
        joiner.start()
        self.assertFalse(joined.wait(0.3))
        self.assertEqual(jq.Queue(name=q.name).get(), "first")  # room: the put is acknowledged
        joiner.join(10)
        putter.join(10)
        self.assertTrue(joined.is_set())
        self.assertEqual(q.qsize(), 1)

    def test_cancel_join_thread_lets_join_thread_return_at_once(self):
        q = jq.Queue(1)
        q.put("first")
        putter = self._blocked_put(q, "second")
        q.cancel_join_thread()
        q.close()
        q.join_thread()  # returns with the put still waiting
        self.assertTrue(putter.is_alive())
        jq.Queue(name=q.name).get()
        putter.join(10)
        self.assertFalse(putter.is_alive())


if __name__ == "__main__":
    unittest.main()
