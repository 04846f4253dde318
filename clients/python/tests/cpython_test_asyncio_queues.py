# CPython's own Lib/test/test_asyncio/test_queues.py with joinable_queues.aio's Queue, LifoQueue and PriorityQueue in
# place of asyncio's (asyncio's exception classes kept: the client raises them), against JOINABLE_QUEUES_URL. Every
# test of the public interface runs: 48 of the module's 59. Left out, unless --private is given, the 11 that read or
# write asyncio's private state: test_repr and test_str (the repr lists the private `_queue`, the items, which live in
# the service here), test_get_with_putters (appends a future to `_putters`), the two
# test_cancelled_*_not_being_held_in_self_* (read `_getters` / `_putters`) and the six test_format (`_format()`,
# `_unfinished_tasks`). Needs Python >= 3.13's test package:
#     python3.13 clients/python/tests/cpython_test_asyncio_queues.py
#
# 34 of the 48 pass. The 14 in EXPECTED_TO_FAIL assert, one loop step after a call, what only the service's answer
# can tell, and no call of the client holds the loop for an answer (docs/python-asyncio.md, "CPython's own tests").
# The run succeeds when exactly those fail: one that passes, or another that fails, fails it.
import asyncio
import logging
import sys
import time
import types
import unittest
from test.test_asyncio import test_queues

from joinable_queues import _socket, aio

# A join one step after the task_done or the shutdown that brought the count to 0: the count is the service's, and
# its answer is a round trip away (the join returns then).
JOIN_A_STEP_LATER = ("test_shutdown_nonempty", "test_shutdown_immediate", "test_shutdown_immediate_with_unfinished")
# get_nowait() of an item put a step before: the item is in the service, not on this loop (get() would wait for it).
NOT_ON_THIS_LOOP = ("test_put_cancel_drop", "test_put_cancelled_race", "test_why_are_putters_waiting",
                    "test_cancelled_put_silence_value_error_exception", "test_blocking_put_wait")
EXPECTED_TO_FAIL = JOIN_A_STEP_LATER + NOT_ON_THIS_LOOP
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

# A test that waits for what cannot come (test_blocking_put_wait's put waits for the room its get_nowait did not make)
# fails after TIMEOUT seconds instead of hanging.
TIMEOUT = 10
_call = unittest.IsolatedAsyncioTestCase._callTestMethod


def _bounded(self, method):
    if not asyncio.iscoroutinefunction(method):
        return _call(self, method)

    async def bounded():
        async with asyncio.timeout(TIMEOUT):
            await method()

    return _call(self, bounded)


unittest.IsolatedAsyncioTestCase._callTestMethod = _bounded

# The tests run in asyncio's debug mode, which logs every step longer than 100 ms (a queue's creation, one round trip
# in its constructor, on a busy machine) and each exception in a callback (test_blocking_put_wait's get_nowait).
# Quiet, unless -v.
verbose = "-v" in sys.argv
logging.getLogger("asyncio").setLevel(logging.DEBUG if verbose else logging.ERROR)
loaded = unittest.TestLoader().loadTestsFromModule(test_queues)
every = [t for suite in loaded for t in suite]
chosen = [t for t in every if "--private" in sys.argv or t._testMethodName not in PRIVATE]
started = time.monotonic()
result = unittest.TextTestRunner(verbosity=2 if verbose else 1, durations=10 if verbose else None).run(
    unittest.TestSuite(chosen))
failed = {t.id().split(".", 3)[-1] for t, _ in result.failures + result.errors}  # "QueuePutTests.test_…"
expected = {t.id().split(".", 3)[-1] for t in chosen if t._testMethodName in EXPECTED_TO_FAIL}
print(f"{result.testsRun - len(result.failures) - len(result.errors)} of {len(chosen)} passed ({len(every)} in the "
      f"module) in {time.monotonic() - started:.1f} s, sockets: {_socket.AVAILABLE}")
for name, names in (("failed, not expected to", failed - expected), ("passed, expected to fail", expected - failed)):
    if names:
        print(f"{name}: {', '.join(sorted(names))}")
raise SystemExit(failed != expected)
