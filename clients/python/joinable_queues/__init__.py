"""Python's queue.Queue (put / get / task_done / join) across processes and machines.

The module stands in for ``queue``: ``import joinable_queues as queue`` and a program written for queue.Queue
runs with its queue in the service, shared by name with other processes, surviving a consumer that dies. For a
multiprocessing program, ``from joinable_queues import JoinableQueue`` stands in for multiprocessing's.
"""
from ._errors import Empty, Full, GroupCancelled, QueueError, ShutDown
from ._deliveries import Job
from ._group import Group
from ._queue import LifoQueue, PriorityQueue, Queue
from ._simple import SimpleQueue
from .webhooks import WebhookVerificationError, verify_webhook

JoinableQueue = Queue  # multiprocessing's name: the queue passed to Process(args=(q,)) pickles as a reference

__all__ = ["Queue", "LifoQueue", "PriorityQueue", "SimpleQueue", "JoinableQueue", "Empty", "Full", "ShutDown",
           "QueueError", "GroupCancelled", "Job", "Group", "verify_webhook", "WebhookVerificationError"]
