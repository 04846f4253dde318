"""Whole programs: processes sharing a queue by name, a consumer killed with SIGKILL, the classic queue.Queue
program with only its import changed, and the asyncio flavour."""
import asyncio
import os
import signal
import subprocess
import sys
import time
import unittest
from pathlib import Path

import joinable_queues as jq
from joinable_queues import aio

PROGRAMS = Path(__file__).parent / "programs"


def run(program, *args, **kwargs):
    return subprocess.Popen([sys.executable, str(PROGRAMS / program), *args], stdout=subprocess.PIPE, text=True,
                            **kwargs)


class ProcessesTest(unittest.TestCase):
    def test_producer_consumers_and_coordinator_in_separate_processes(self):
        q = jq.Queue(name=f"procs-{time.time_ns()}")
        consumers = [run("consumer.py", q.name) for _ in range(3)]
        producer = run("producer.py", q.name, "30")
        self.assertEqual(producer.wait(60), 0)
        self.assertTrue(q.join(timeout=60))
        q.shutdown()
        done = sorted(int(line.split()[1]) for c in consumers for line in c.communicate(timeout=60)[0].splitlines())
        self.assertEqual(done, list(range(30)))

    def test_a_consumer_killed_while_holding_an_item_does_not_hang_join(self):
        q = jq.Queue(name=f"killed-{time.time_ns()}", lease_seconds=2)
        hung = run("consumer.py", q.name, "--hang")
        q.put("doomed")
        self.assertEqual(hung.stdout.readline().strip(), "took doomed")
        time.sleep(3)  # longer than the lease: the hung process's heartbeat keeps its item
        self.assertEqual(q.stats()["leased"], 1)
        hung.send_signal(signal.SIGKILL)
        hung.wait()
        hung.stdout.close()
        consumer = run("consumer.py", q.name)
        q.put_many(["a", "b"])
        self.assertTrue(q.join(timeout=30))  # the killed consumer's item came back after its lease
        q.shutdown()
        done = consumer.communicate(timeout=30)[0].split()
        self.assertEqual(sorted(done), sorted("done doomed done a done b".split()))
        self.assertEqual(q.stats()["redeliveries"], 1)

    def test_the_classic_program_runs_with_only_its_import_changed(self):
        source = (PROGRAMS / "classic.py").read_text()
        changed = source.replace("import queue\n", "import joinable_queues as queue\n", 1)
        self.assertNotEqual(changed, source)
        got = subprocess.run([sys.executable, "-c", changed], capture_output=True, text=True, timeout=120)
        self.assertEqual(got.returncode, 0, got.stderr)
        self.assertEqual(got.stdout, "All tasks processed! [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]\nworkers exited\n")
        # The standard queue has shutdown from Python 3.13 on: there, the unchanged program prints the same.
        python313 = sorted(Path(os.path.expanduser("~/.pyenv/versions")).glob("3.1[3-9]*/bin/python3"))
        stdlib = [sys.executable] if sys.version_info >= (3, 13) else [str(p) for p in python313[-1:]]
        for python in stdlib:
            expected = subprocess.run([python, "-c", source], capture_output=True, text=True, timeout=60)
            self.assertEqual(got.stdout, expected.stdout)


class AsyncioTest(unittest.TestCase):
    def test_producer_consumers_and_join_with_tasks(self):
        async def main():
            q = aio.Queue()
            done = []

            async def consumer():
                while True:
                    try:
                        item = await q.get()
                    except jq.ShutDown:
                        return
                    done.append(item)
                    q.task_done()

            tasks = [asyncio.create_task(consumer()) for _ in range(3)]
            for i in range(9):
                await q.put(i)
            await q.join()
            q.shutdown()
            await asyncio.gather(*tasks)
            return sorted(done), q.qsize()

        self.assertEqual(asyncio.run(main()), (list(range(9)), 0))


if __name__ == "__main__":
    unittest.main()
