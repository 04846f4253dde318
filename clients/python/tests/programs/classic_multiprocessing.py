# The classic multiprocessing.JoinableQueue program: worker processes get and task_done, the parent joins, and a
# poison pill per worker stops them. The test runs it with only its import changed, under the start method argv[1].
import sys
from multiprocessing import Process, set_start_method
from multiprocessing import JoinableQueue


def worker(tasks, results):
    while True:
        item = tasks.get()
        if item is None:
            tasks.task_done()
            return
        results.put(item * item)
        tasks.task_done()


if __name__ == "__main__":
    set_start_method(sys.argv[1])
    tasks, results = JoinableQueue(), JoinableQueue()
    workers = [Process(target=worker, args=(tasks, results)) for _ in range(2)]
    for w in workers:
        w.start()
    for item in range(6):
        tasks.put(item)
    tasks.join()
    print("All tasks processed!", sorted(results.get() for _ in range(6)))
    for w in workers:
        tasks.put(None)
    tasks.join()
    for w in workers:
        w.join()
    print("workers exited", [w.exitcode for w in workers])
