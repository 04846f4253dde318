# CPython's own Lib/test/test_asyncio/test_queues.py with joinable_queues.aio's Queue, LifoQueue and PriorityQueue in
# place of asyncio's (asyncio's exception classes kept: the client raises them), against JOINABLE_QUEUES_URL. Every
# test of the public interface runs: 48 of the module's 59. Left out, unless --private is given, the 11 that read or
# write asyncio's private state: test_repr and test_str (the repr lists the private `_queue`, the items, which live in
# the service here), test_get_with_putters (appends a future to `_putters`), the two
# test_cancelled_*_not_being_held_in_self_* (read `_getters` / `_putters`) and the six test_format (`_format()`,
# `_unfinished_tasks`). The client keeps `_getters`, `_putters` and `_format()` as asyncio's do, and 6 of those 11
# pass too. Needs Python >= 3.13's test package: python3.13 clients/python/tests/cpython_test_asyncio_queues.py
import asyncio
import logging
import sys
import time
import types
import unittest
from test.test_asyncio import test_queues

from joinable_queues import _socket, aio

PRIVATE = ("test_repr", "test_str", "test_get_with_putters", "test_cancelled_getters_not_being_held_in_self_getters",
           "test_cancelled_puts_not_being_held_in_self_putters", "test_format")

# The module sees asyncio with the client's queue classes; everything else (tasks, exceptions, TaskGroup) is asyncio's.
patched = types.ModuleType("asyncio")
patched.__dict__.update(vars(asyncio))
patched.Queue, patched.LifoQueue, patched.PriorityQueue = aio.Queue, aio.LifoQueue, aio.PriorityQueue
test_queues.asyncio = patched
for mixin_case, cls in ((test_queues.QueueJoinTests, aio.Queue), (test_queues.LifoQueueJoinTests, aio.LifoQueue),
                        (test_queues.PriorityQueueJoinTests, aio.PriorityQueue),
                        (test_queues.QueueShutdownTests, aio.Queue),
                        (test_queues.LifoQueueShutdownTests, aio.LifoQueue),
                        (test_queues.PriorityQueueShutdownTests, aio.PriorityQueue)):
    mixin_case.q_class = cls  # bound to asyncio's classes when the module was imported

# The tests run in asyncio's debug mode, which logs every step longer than 100 ms: here, steps that make many
# synchronous round trips (test_task_done's 100 put_nowait) on a busy machine. Quiet, unless -v.
verbose = "-v" in sys.argv
logging.getLogger("asyncio").setLevel(logging.DEBUG if verbose else logging.ERROR)
loaded = unittest.TestLoader().loadTestsFromModule(test_queues)
every = [t for suite in loaded for t in suite]
chosen = [t for t in every if "--private" in sys.argv or t._testMethodName not in PRIVATE]
started = time.monotonic()
result = unittest.TextTestRunner(verbosity=2 if verbose else 1, durations=10 if verbose else None).run(
    unittest.TestSuite(chosen))
passed = result.testsRun - len(result.failures) - len(result.errors) - len(result.skipped)
print(f"{passed} of {len(chosen)} passed ({len(every)} in the module) in {time.monotonic() - started:.1f} s, "
      f"sockets: {_socket.AVAILABLE}")
raise SystemExit(not result.wasSuccessful())
