"""Gets over the queue's WebSocket (the `websockets` library): no HTTP request held open while a get waits,
prefetch, a dropped socket reopened, threads, shutdown, and HTTP without the library. python.test.ts runs these
with Debian's python3-websockets and JOINABLE_QUEUES_SOCKETS=required, so a missing library fails them."""
import os
import socket
import subprocess
import sys
import threading
import time
import unittest
from urllib.parse import urlsplit

import joinable_queues as jq
from joinable_queues import _socket

URL = os.environ.get("JOINABLE_QUEUES_URL", "http://localhost:8787")
if not _socket.AVAILABLE and os.environ.get("JOINABLE_QUEUES_SOCKETS") == "required":
    raise ImportError(f"{sys.executable} has no websockets library: apt-get install -y python3-websockets "
                      '(Debian), or pip install "joinable-queues[sockets]"')


def eventually(check, seconds=10.0):
    """Waits until ``check()`` is true (the service answers frames of one socket in order, but another
    connection's request may overtake them), failing after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {seconds} s: {check.__doc__ or check}")
        time.sleep(0.02)


class Proxy:
    """A TCP proxy in front of the service that sees every byte its clients send: which connections are WebSockets
    (their first request asks to upgrade) and, of the others, which have sent an HTTP request whose answer has not
    begun to come back. A client speaks HTTP/1.1 one request at a time on each connection, so that is exactly the
    set of its HTTP requests open on the service right now."""

    def __init__(self, target):
        parts = urlsplit(target)
        self._target = (parts.hostname, parts.port or 80)
        self._server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._server.getsockname()[1]}"
        self._lock = threading.Lock()
        self._open = {}  # client connection -> the request line of its HTTP request waiting for an answer
        self._sockets = {}  # client connection -> its upstream, for upgraded ones
        self.upgrades = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def open_requests(self):
        with self._lock:
            return sorted(self._open.values())

    def open_sockets(self):
        with self._lock:
            return len(self._sockets)

    def cut_sockets(self):
        """Drops every WebSocket without a close frame, as a network that fails does."""
        with self._lock:
            pairs = list(self._sockets.items())
        for pair in pairs:
            for end in pair:
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self._server.close()

    def _accept(self):
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            threading.Thread(target=self._pipe, args=(client, upstream, client, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, client, True), daemon=True).start()

    def _pipe(self, source, sink, client, answers):
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            with self._lock:
                if answers:
                    self._open.pop(client, None)  # the answer has begun
                elif client not in self._sockets and client not in self._open:
                    if b"upgrade: websocket" in data.lower():
                        self._sockets[client] = sink
                        self.upgrades += 1
                    else:
                        self._open[client] = data.split(b"\r\n", 1)[0].decode()
            try:
                sink.sendall(data)
            except OSError:
                break
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if answers:
            source.close()
            sink.close()
        with self._lock:
            self._open.pop(client, None)
            self._sockets.pop(client, None)


@unittest.skipUnless(_socket.AVAILABLE, "no websockets library: the client stays on HTTP")
class SocketTest(unittest.TestCase):
    def setUp(self):
        self.proxy = Proxy(URL)
        self.addCleanup(self.proxy.close)

    def test_a_get_waiting_on_the_socket_holds_no_http_request_open(self):
        # waiting.getters counts every wait the queue object has registered, a socket consumer's standing get as
        # well as an HTTP long-poll. With this one client waiting it is 1, and the proxy, which carries every byte
        # between the client and the service, sees no HTTP request of the client's without its answer: the one
        # wait is the socket's. The same scenario over HTTP shows the difference: 1 getter, 1 open request.
        for sockets, expected in ((True, []), (False, ["POST /v1/queues/{}/get HTTP/1.1"])):
            q = jq.Queue(url=self.proxy.url, sockets=sockets)
            observer = jq.Queue(name=q.name)  # straight to the service, not through the proxy
            got = []
            consumer = threading.Thread(target=lambda: got.append(q.get(timeout=60)))
            consumer.start()

            def waiting():
                """the consumer's get is waiting on the queue object"""
                return observer.stats()["waiting"]["getters"] == 1

            eventually(waiting)
            self.assertEqual(self.proxy.open_requests(), [line.format(q.name) for line in expected])
            self.assertEqual(observer.stats()["waiting"]["getters"], 1)  # still waiting, still no request
            observer.put("work")
            consumer.join()
            self.assertEqual(got, ["work"])
        self.assertEqual(self.proxy.upgrades, 1)

    def test_get_keeps_queue_queues_meaning_on_the_socket(self):
        q = jq.Queue(url=self.proxy.url)
        q.put_many(["a", "b"])
        self.assertEqual((q.get(), q.get()), ("a", "b"))  # one item each; the second without a task_done first
        self.assertEqual((q.qsize(), q.unfinished_tasks, q.stats()["in_flight"]), (0, 2, 2))
        q.task_done()
        q.task_done()
        self.assertTrue(q.join(timeout=5))
        started = time.monotonic()
        with self.assertRaises(jq.Empty):
            q.get(timeout=1.5)
        self.assertGreater(time.monotonic() - started, 1.4)
        with self.assertRaises(ValueError):
            q.get(timeout=-1)
        q.put("c")
        # A get that gave up leaves nothing behind: the next item stays in the queue for anyone.
        eventually(lambda: q.stats()["waiting"]["getters"] == 0)
        self.assertEqual((q.qsize(), q.stats()["in_flight"]), (1, 0))

    def test_prefetch_keeps_items_ready_and_close_gives_them_back(self):
        q = jq.Queue(url=self.proxy.url, prefetch=3)
        q.put_many(list(range(6)))
        self.assertEqual(q.get(), 0)
        eventually(lambda: q.stats()["in_flight"] == 4)  # the one got, and three ready
        self.assertEqual(q.qsize(), 2)
        requests = self.proxy.open_requests
        self.assertEqual([q.get_nowait() for _ in range(3)], [1, 2, 3])  # from what is ready
        self.assertEqual(requests(), [])
        for _ in range(4):
            q.task_done()
        eventually(lambda: q.stats()["in_flight"] == 2)  # 4 and 5, ready
        q.close()  # this process takes no more: what was ready goes back, and with nothing held the socket closes
        self.assertEqual((q.qsize(), q.stats()["in_flight"], q.unfinished_tasks), (2, 0, 2))
        eventually(lambda: self.proxy.open_sockets() == 0)

    def test_a_dropped_socket_reopens_and_a_waiting_get_resumes(self):
        q = jq.Queue(url=self.proxy.url)
        q.put("held")
        job = q.get_job()
        got = []
        consumer = threading.Thread(target=lambda: got.append(q.get(timeout=60)))
        consumer.start()
        eventually(lambda: q.stats()["waiting"]["getters"] == 1)
        self.proxy.cut_sockets()
        # The service gave back what the socket held, and the get still waiting, on a new socket, receives it.
        consumer.join()
        self.assertEqual((got, self.proxy.upgrades, q.stats()["redeliveries"]), (["held"], 2, 1))
        with self.assertRaises(jq.QueueError) as caught:
            job.done()  # its delivery ended with the socket
        self.assertEqual(caught.exception.code, "stale_receipt")
        q.task_done()
        self.assertTrue(q.join(timeout=5))

    def test_threads_share_one_socket_and_each_item_comes_once(self):
        q = jq.Queue(url=self.proxy.url)
        got = []

        def work():
            while True:
                item = q.get()
                if item is None:
                    q.task_done()
                    return
                got.append(item)
                q.task_done()

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        q.put_many(list(range(200)) + [None] * 8)
        self.assertTrue(q.join(timeout=60))
        for t in threads:
            t.join()
        self.assertEqual(sorted(got), list(range(200)))
        self.assertEqual((q.stats()["redeliveries"], self.proxy.upgrades), (0, 1))

    def test_shutdown_ends_gets_waiting_on_the_socket(self):
        q = jq.Queue(url=self.proxy.url)
        q.put("last")
        errors = []

        def get():
            try:
                q.get()
            except jq.ShutDown as e:
                errors.append(e)

        threads = [threading.Thread(target=get) for _ in range(3)]
        for t in threads:
            t.start()
        # One took "last"; the other two wait on the socket: its consumer's credit counts as both.
        eventually(lambda: q.stats()["waiting"]["getters"] == 2 and q.qsize() == 0)
        q.shutdown()  # the queue is empty: every get waiting raises ShutDown, as in Python 3.13
        for t in threads:
            t.join()
        self.assertEqual(len(errors), 2)
        q.task_done()
        with self.assertRaises(jq.ShutDown):
            q.get()


class WithoutTheLibraryTest(unittest.TestCase):
    def test_the_client_stays_on_http(self):
        program = (
            "import sys; sys.modules['websockets'] = None\n"  # as if it were not installed
            "import joinable_queues as jq\n"
            "q = jq.Queue(); q.put('x'); print(q.get(timeout=5), q._socket)\n"
            "try:\n    jq.Queue(sockets=True)\nexcept ImportError as e:\n    print(e)\n"
        )
        run = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout, 'x None\nsockets=True needs the websockets library: '
                                     'pip install "joinable-queues[sockets]"\n')


if __name__ == "__main__":
    unittest.main()
