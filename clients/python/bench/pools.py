"""Jobs per second of a pool of asyncio tasks (joinable_queues.aio) against a pool of threads (the threaded client) on
the same queue: the same N jobs put before each pool starts, each job a short sleep, timed from the pool's start until
join() returns. Over the queue's WebSocket (where the websockets library is installed) and over HTTP. A script to run
by hand against a running service, not a test: it prints figures.

    npm start                                   # or: CLOUDFLARE_CF_FETCH_ENABLED=false npx wrangler dev
    PYTHONPATH=clients/python python3 clients/python/bench/pools.py [--jobs 2000] [--pool 100] [--work 0.01] [--runs 3]

The queue is made fresh for each run (both pools use it, one after the other) and deleted after. JOINABLE_QUEUES_URL
and JOINABLE_QUEUES_TOKEN say which service, as for the clients.
"""
import argparse
import asyncio
import os
import platform
import statistics
import sys
import threading
import time

import joinable_queues as jq
from joinable_queues import _socket, aio


async def asyncio_pool(name: str, sockets: bool, pool: int, work: float) -> float:
    """Seconds for ``pool`` tasks of one event loop to get, sleep ``work`` and task_done every item of the queue."""
    q = aio.Queue(name=name, sockets=sockets)

    async def worker() -> None:
        while True:
            await q.get()
            await asyncio.sleep(work)
            q.task_done()

    started = time.perf_counter()
    tasks = [asyncio.create_task(worker()) for _ in range(pool)]
    await q.join()
    elapsed = time.perf_counter() - started
    for task in tasks:
        task.cancel()  # each waits in get(): cancelled, it takes nothing
    await asyncio.gather(*tasks, return_exceptions=True)
    await q.aclose()
    return elapsed


def threaded_pool(name: str, sockets: bool, pool: int, work: float) -> float:
    """Seconds for ``pool`` threads of the threaded client to get, sleep ``work`` and task_done every item."""
    q = jq.Queue(name=name, sockets=sockets)
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            try:
                q.get(timeout=1.0)  # (a get that may wait a second or more waits on the socket, where there is one)
            except jq.Empty:
                continue
            time.sleep(work)
            q.task_done()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(pool)]
    for t in threads:
        t.start()
    q.join()
    elapsed = time.perf_counter() - started
    stop.set()
    for t in threads:
        t.join()
    q.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--pool", type=int, default=100, help="tasks, and threads")
    parser.add_argument("--work", type=float, default=0.01, help="seconds each job sleeps")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("JOINABLE_QUEUES_URL", "http://localhost:8787")
    print(f"{time.strftime('%Y-%m-%d')}, {platform.node()}: {os.cpu_count()} CPUs, {platform.system()} "
          f"{platform.release()}, Python {platform.python_version()}, websockets "
          f"{getattr(_socket.websockets, '__version__', 'absent')}; service {url}")
    print(f"{args.jobs} jobs of {args.work * 1000:g} ms each, pools of {args.pool}; jobs/s from the pool's start until "
          f"join() returns (a pool that only slept would do {args.pool / args.work:,.0f})")
    transports = [("socket", True)] if _socket.AVAILABLE else []
    transports.append(("HTTP", False))
    figures = {}
    for run in range(args.runs):
        for transport, sockets in transports:
            q = jq.Queue(name=f"bench-pools-{os.getpid()}-{run}-{transport.lower()}", sockets=False)
            try:
                # Threads first: an HTTP long poll the asyncio pool leaves when its tasks are cancelled may still take
                # items on a local wrangler dev (which does not tell the queue that its client went away).
                for pool_name in ("threads", "asyncio"):
                    q.put_many(list(range(args.jobs)))
                    if pool_name == "asyncio":
                        seconds = asyncio.run(asyncio_pool(q.name, sockets, args.pool, args.work))
                    else:
                        seconds = threaded_pool(q.name, sockets, args.pool, args.work)
                    rate = args.jobs / seconds
                    figures.setdefault((pool_name, transport), []).append(rate)
                    print(f"  run {run + 1}: {pool_name:7} over {transport:6} {rate:8,.0f} jobs/s ({seconds:.2f} s)",
                          file=sys.stderr)
                stats = q.stats()
                assert stats["unfinished_tasks"] == 0 and stats["completed"] == 2 * args.jobs, stats
            finally:
                q.delete()
    print("| pool | over | " + " | ".join(f"run {i + 1}" for i in range(args.runs)) + " | median |")
    print("| --- | --- | " + " | ".join("---:" for _ in range(args.runs)) + " | ---: |")
    for (pool_name, transport), rates in figures.items():
        label = f"{args.pool} asyncio tasks" if pool_name == "asyncio" else f"{args.pool} threads"
        cells = " | ".join(f"{r:,.0f}" for r in rates)
        print(f"| {label} | {transport} | {cells} | {statistics.median(rates):,.0f} |")


if __name__ == "__main__":
    main()
