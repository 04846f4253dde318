"""1,000 tasks waiting in ``await q.get()`` on one event loop: another task's puts complete, each item reaches one
waiting task, and the waiting costs one WebSocket (and at most one HTTP long poll) and no thread. The program runs in
a process of its own, which counts its own threads, the WebSockets it opens and its TCP connections to the service.

It runs only when asked, with the number of tasks: JOINABLE_QUEUES_WAITERS=1000 python3 -m unittest aio_waiters
(test/e2e/python-asyncio.test.ts does). Its name keeps the suite's discovery (test*.py) from finding it, so it is
never counted as skipped there."""
import json
import os
import subprocess
import sys
import time
import unittest
from pathlib import Path

import joinable_queues as jq
from joinable_queues import _socket
from test_sockets import URL

WAITERS = int(os.environ.get("JOINABLE_QUEUES_WAITERS") or 0)
PROGRAM = """
import asyncio, json, os, sys, threading, time
from joinable_queues import _aio_socket, aio

opened = 0
_open = _aio_socket.open_socket


async def counted(*args):
    global opened
    opened += 1
    return await _open(*args)


_aio_socket.open_socket = counted


def connections():
    \"\"\"This process's TCP connections (its sockets, matched against the kernel's table of established ones).\"\"\"
    mine = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            link = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # the listing's own descriptor, closed since
        if link.startswith("socket:["):
            mine.add(link[8:-1])
    with open("/proc/self/net/tcp") as table:
        return sum(1 for row in list(table)[1:] if row.split()[9] in mine and row.split()[3] == "01")


def counts():
    return {"threads": threading.active_count(), "os_threads": len(os.listdir("/proc/self/task")),
            "websockets": opened, "tcp": connections()}


async def main(n):
    q = aio.Queue(name=sys.argv[1])
    got = []

    async def waiter():
        got.append(await q.get())

    tasks = [asyncio.create_task(waiter()) for _ in range(n)]
    # The socket's consumer (its credit, the service's cap of 100, counts as 100 gets) and one long poll beyond it.
    while (await q.stats())["waiting"]["getters"] < 101:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # anything more the waiting gets would open
    waiting = {"waiting": len(q._getters), **counts()}
    started = time.monotonic()

    async def producer():
        for i in range(n):
            await q.put(i)

    await asyncio.create_task(producer())
    put = time.monotonic() - started
    await asyncio.wait_for(asyncio.gather(*tasks), 300)
    seconds = {"puts": round(put, 1), "all got": round(time.monotonic() - started, 1)}
    print(json.dumps({"while waiting": waiting, "got each once": sorted(got) == list(range(n)), "after": counts(),
                      "seconds": seconds, "redeliveries": (await q.stats())["redeliveries"]}))

asyncio.run(main(int(sys.argv[2])))
"""


@unittest.skipUnless(WAITERS, "JOINABLE_QUEUES_WAITERS=1000 runs it")
@unittest.skipUnless(_socket.AVAILABLE, "no websockets library: the client stays on HTTP")
class ThousandWaitersTest(unittest.TestCase):
    def test_a_thousand_waiting_gets_cost_one_socket_and_no_thread(self):
        # Each task keeps its item to the end (no task_done): on a loaded machine the puts may outlast a 30 s lease, and
        # this test is about the waiting. (Leases of held items are kept alive: test_aio's test_a_held_item_keeps...)
        q = jq.Queue(name=f"waiters-{time.time_ns()}", sockets=False, lease_seconds=600)
        self.addCleanup(q.delete)
        path = [str(Path(jq.__file__).parent.parent), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "JOINABLE_QUEUES_URL": URL, "PYTHONPATH": os.pathsep.join(path)}
        run = subprocess.run([sys.executable, "-c", PROGRAM, q.name, str(WAITERS)], env=env, capture_output=True,
                             text=True, timeout=400)
        self.assertEqual(run.returncode, 0, run.stderr)
        seen = json.loads(run.stdout)
        print(f"\n{WAITERS} waiting gets: {json.dumps(seen)}", file=sys.stderr)
        waiting = seen["while waiting"]
        self.assertEqual(waiting["waiting"], WAITERS)
        self.assertTrue(seen["got each once"])
        # One WebSocket; besides it, the loop's kept-alive connection (its calls, the stats) and the long poll's.
        self.assertEqual((waiting["websockets"], seen["after"]["websockets"]), (1, 1))
        self.assertLessEqual(waiting["tcp"], 3 if WAITERS > 100 else 2)
        for counts in (waiting, seen["after"]):
            self.assertLessEqual(max(counts["threads"], counts["os_threads"]), 3, counts)  # a handful at most
        self.assertEqual(seen["redeliveries"], 0)  # none given back, none whose lease ran out while the puts went on


if __name__ == "__main__":
    unittest.main()
