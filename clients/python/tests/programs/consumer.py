# A consumer process: takes items from the named queue until it is shut down, printing each one it completes.
# With "--hang", it takes one item, says so, and then hangs with it (the test SIGKILLs it).
import sys
import time

import joinable_queues

q = joinable_queues.Queue(name=sys.argv[1])
if "--hang" in sys.argv:
    print("took", q.get(), flush=True)
    time.sleep(3600)
while True:
    try:
        item = q.get()
    except joinable_queues.ShutDown:
        break
    time.sleep(0.01)
    print("done", item, flush=True)
    q.task_done()
