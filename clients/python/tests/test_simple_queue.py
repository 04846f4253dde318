"""queue.SimpleQueue's interface, against a running service (JOINABLE_QUEUES_URL)."""
import pickle
import queue
import threading
import unittest

import joinable_queues as jq


class SimpleQueueTest(unittest.TestCase):
    def test_put_get_empty_qsize_as_queue_simple_queue(self):
        q = jq.SimpleQueue()
        self.assertEqual((q.empty(), q.qsize()), (True, 0))
        q.put(1)
        q.put(2, block=False, timeout=-1)  # put never blocks: block and timeout are ignored, as SimpleQueue's are
        q.put_nowait((3, b"x"))
        self.assertEqual((q.empty(), q.qsize()), (False, 3))
        self.assertEqual([q.get(), q.get_nowait(), q.get(block=False)], [1, 2, (3, b"x")])
        with self.assertRaises(queue.Empty):
            q.get_nowait()
        with self.assertRaises(queue.Empty):
            q.get(timeout=0.1)
        with self.assertRaises(ValueError):
            q.get(timeout=-1)
        for missing in ("task_done", "join", "full", "maxsize", "shutdown"):
            self.assertFalse(hasattr(q, missing), missing)

    def test_an_item_got_is_done_and_the_queue_is_shared(self):
        q = jq.SimpleQueue()
        other = pickle.loads(pickle.dumps(q))  # what another process receives
        threading.Timer(0.3, other.put, ("late",)).start()
        self.assertEqual(q.get(timeout=10), "late")
        stats = jq.Queue(name=q.name).stats()
        self.assertEqual((stats["unfinished_tasks"], stats["in_flight"]), (0, 0))
        self.assertIs(jq.SimpleQueue[int].__origin__, jq.SimpleQueue)
        with self.assertRaisesRegex(ValueError, "maxsize"):
            jq.SimpleQueue(name=jq.Queue(2).name)  # an existing bounded queue is no SimpleQueue

    def test_close_as_multiprocessing_simple_queue(self):
        q = jq.SimpleQueue()
        q.close()
        with self.assertRaisesRegex(ValueError, "is closed"):
            q.put(1)


if __name__ == "__main__":
    unittest.main()
