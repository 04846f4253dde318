"""Python's queue.Queue (put / get / task_done / join) across processes and machines.

The module stands in for ``queue``: ``import joinable_queues as queue`` and a program written for queue.Queue
runs with its queue in the service, shared by name with other processes, surviving a consumer that dies.
"""
from ._errors import Empty, Full, QueueError, ShutDown
from ._queue import Job, LifoQueue, PriorityQueue, Queue

__all__ = ["Queue", "LifoQueue", "PriorityQueue", "Empty", "Full", "ShutDown", "QueueError", "Job"]
