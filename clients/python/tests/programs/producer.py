# A producer process: puts items 0..N-1 into the named queue.
import sys

import joinable_queues

q = joinable_queues.Queue(name=sys.argv[1])
for i in range(int(sys.argv[2])):
    q.put(i)
