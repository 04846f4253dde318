"""A sharded queue (docs/shards.md): the classic program on one, shard keys keeping their order, what it refuses."""
import subprocess
import sys
import time
import unittest
from pathlib import Path

import joinable_queues as jq

PROGRAMS = Path(__file__).parent / "programs"


class ShardsTest(unittest.TestCase):
    def test_the_classic_program_runs_on_a_sharded_queue(self):
        source = (PROGRAMS / "classic.py").read_text()
        changed = source.replace("import queue\n", "import joinable_queues as queue\n", 1)
        changed = changed.replace("q = queue.Queue()\n", "q = queue.Queue(shards=4)\n", 1)
        self.assertEqual(changed.count("shards=4"), 1)
        got = subprocess.run([sys.executable, "-c", changed], capture_output=True, text=True, timeout=120)
        self.assertEqual(got.returncode, 0, got.stderr)
        self.assertEqual(got.stdout, "All tasks processed! [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]\nworkers exited\n")

    def test_a_shard_key_keeps_its_items_in_order_and_join_is_exact(self):
        q = jq.Queue(name=f"shards-{time.time_ns()}", shards=8)
        try:
            self.assertEqual(q.stats()["shards"], 8)
            for n in range(5):
                q.put(n, shard_key="customer-1")
            q.put_many([5, 6, 7], shard_key="customer-1")
            self.assertEqual([q.get(timeout=5) for _ in range(8)], list(range(8)))
            self.assertFalse(q.join(timeout=0.5))
            for _ in range(8):
                q.task_done()
            self.assertTrue(q.join(timeout=10))
            self.assertEqual(q.stats()["unfinished_tasks"], 0)
            with self.assertRaises(ValueError):  # the same name with another shard count
                jq.Queue(name=q.name, shards=2)
            self.assertEqual(jq.Queue(name=q.name).stats()["shards"], 8)  # the default opens it as it is
        finally:
            q.delete()

    def test_what_a_sharded_queue_gives_up_is_refused_at_creation(self):
        with self.assertRaises(jq.QueueError) as refused:
            jq.Queue(5, name=f"shards-bounded-{time.time_ns()}", shards=2)
        self.assertEqual(refused.exception.code, "invalid_request")
        self.assertIn("unbounded", str(refused.exception))


if __name__ == "__main__":
    unittest.main()
