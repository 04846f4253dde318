# CPython's documented queue example, as a program written for queue.Queue: worker threads, task_done, join,
# and the poison pill done right with shutdown. The test runs it as it is and with only its import changed.
import queue
import threading

q = queue.Queue()
done = []
lock = threading.Lock()


def worker():
    while True:
        try:
            item = q.get()
        except queue.ShutDown:
            return
        with lock:
            done.append(item * item)
        q.task_done()


threads = [threading.Thread(target=worker) for _ in range(3)]
for t in threads:
    t.start()
for item in range(10):
    q.put(item)
q.join()
print("All tasks processed!", sorted(done))
q.shutdown()
for t in threads:
    t.join()
print("workers exited")
