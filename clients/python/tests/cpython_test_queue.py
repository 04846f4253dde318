# CPython's own Lib/test/test_queue.py with joinable_queues as its queue module, against JOINABLE_QUEUES_URL: every
# test of the interface, for Queue, LifoQueue, PriorityQueue and SimpleQueue. Left out: the tests of CPython's C
# module (_queue) and of Queue's private _put/_get hooks (FailingQueueTest), SimpleQueue's test_references (items
# here are values that travel, not objects whose references the queue drops), and unless --all is given, the
# stress tests with many threads, each tens of thousands of round trips: the two that put 65,536 items (about 15
# and 8 minutes on a local wrangler dev, and run for each of the three classes) and SimpleQueue's three (3 minutes).
# Not in the suite (it needs Python >= 3.13's test package): python3.13 clients/python/tests/cpython_test_queue.py
# [--all]
import sys
import time
import types
import unittest
from test import test_queue

import joinable_queues

every = "--all" in sys.argv
simple = types.SimpleNamespace(Empty=joinable_queues.Empty, _PySimpleQueue=joinable_queues.SimpleQueue)
suite = unittest.TestSuite()
for case, module in ((test_queue.PyQueueTest, joinable_queues), (test_queue.PyLifoQueueTest, joinable_queues),
                     (test_queue.PyPriorityQueueTest, joinable_queues), (test_queue.PySimpleQueueTest, simple)):
    case.queue = module
    names = unittest.TestLoader().getTestCaseNames(case)
    left_out = ["test_references"] + ([] if every else ["many_threads"])
    suite.addTests(case(name) for name in names if not any(part in name for part in left_out))
started = time.monotonic()
result = unittest.TextTestRunner(verbosity=2 if every else 1, durations=10 if every else None).run(suite)
print(f"{result.testsRun} tests in {time.monotonic() - started:.1f} s, sockets: {joinable_queues._socket.AVAILABLE}")
raise SystemExit(not result.wasSuccessful())
