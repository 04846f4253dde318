# CPython's own Lib/test/test_queue.py with joinable_queues as its queue module, against JOINABLE_QUEUES_URL: the
# Queue, LifoQueue and PriorityQueue tests, leaving out the two stress tests that put 65,536 items from many threads
# (as many HTTP round trips). Not in the suite (it needs Python >= 3.13's test package and takes half a minute):
# python3.13 clients/python/tests/cpython_test_queue.py
import unittest
from test import test_queue

import joinable_queues

suite = unittest.TestSuite()
for case in (test_queue.PyQueueTest, test_queue.PyLifoQueueTest, test_queue.PyPriorityQueueTest):
    case.queue = joinable_queues
    names = unittest.TestLoader().getTestCaseNames(case)
    suite.addTests(case(name) for name in names if "many_threads" not in name)
raise SystemExit(not unittest.TextTestRunner().run(suite).wasSuccessful())
