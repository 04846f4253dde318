"""Transient failures retried: a proxy in front of the service answers 503, 500, 502 or 429, or drops the connection,
before a call reaches the service or after it (the service applied the call and its answer is lost), and every
operation still completes exactly once: no item put twice or lost, no task_done counted twice, and a get or join
that waits goes on waiting. Everything here is over HTTP (sockets=False): the socket has reconnects of its own."""
import http.client
import http.server
import json
import os
import pickle
import socket
import threading
import time
import unittest
from unittest import mock
from urllib.parse import urlsplit

import joinable_queues as jq
from joinable_queues import _http

URL = os.environ.get("JOINABLE_QUEUES_URL", "http://localhost:8787")
_HOP = ("connection", "keep-alive", "transfer-encoding", "content-length", "host")


class FaultProxy:
    """An HTTP proxy in front of the service that makes chosen calls fail. ``fail("put", "503", "lost")`` makes the
    next two requests to ``…/put`` fail, in that order; a call is its last path segment for a POST, else its method
    ("DELETE"). The faults:

    - ``"500"``, ``"502"``, ``"503"``: that answer, without forwarding (503 and 500 as the service's problem
      documents, 502 as a gateway's plain text); ``"not_configured"``: the service's 503 that no retry can change;
    - ``"429"``: 429 ``limit_exceeded`` with ``Retry-After: 0``; ``"429/n"`` with ``Retry-After: n``;
    - ``"drop"``: the connection closed without forwarding (the service never sees the call);
    - ``"lost"``: forwarded, then the connection closed without the answer (the service applied the call);
    - ``"lost502"``: forwarded, then a 502 instead of the answer, as a gateway whose upstream timed out;
    - ``None``: forwarded as it is (to fail, say, the second request only)."""

    def __init__(self, target):
        parts = urlsplit(target)
        self.target = (parts.hostname, parts.port or 80)
        self._lock = threading.Lock()
        self._faults = {}
        self._seen = {}
        self._forwarded = {}
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.proxy = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def fail(self, call, *faults):
        with self._lock:
            self._faults.setdefault(call, []).extend(faults)

    def seen(self, call):
        """Requests of ``call`` that reached the proxy."""
        with self._lock:
            return self._seen.get(call, 0)

    def forwarded(self, call):
        """Requests of ``call`` that reached the service."""
        with self._lock:
            return self._forwarded.get(call, 0)

    def pending(self):
        with self._lock:
            return {call: faults for call, faults in self._faults.items() if faults}

    def reset(self):
        with self._lock:
            self._faults.clear()
            self._seen.clear()
            self._forwarded.clear()

    def close(self):
        self._server.shutdown()
        self._server.server_close()

    def _next(self, call):
        with self._lock:
            self._seen[call] = self._seen.get(call, 0) + 1
            faults = self._faults.get(call)
            return faults.pop(0) if faults else None

    def _applied(self, call):
        with self._lock:
            self._forwarded[call] = self._forwarded.get(call, 0) + 1


def _problem(status, code):
    return json.dumps({"type": f"urn:joinable-queues:problem:{code}", "status": status, "code": code,
                       "detail": "injected by the test's proxy"}).encode()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's connections are
    _upstream = None

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # headers and body are two writes

    def log_message(self, *args):
        pass

    def do_any(self):
        proxy = self.server.proxy
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        call = self.path.rsplit("/", 1)[-1] if self.command == "POST" else self.command
        fault = proxy._next(call)
        problem = "application/problem+json"
        if fault == "drop":
            self.close_connection = True
            return
        if fault in ("500", "503", "not_configured"):
            code = {"500": "internal", "503": "unavailable"}.get(fault, fault)
            status = 500 if fault == "500" else 503
            return self._answer(status, _problem(status, code), [("content-type", problem)])
        if fault == "502":
            return self._answer(502, b"Bad Gateway", [("content-type", "text/plain")])
        if fault is not None and fault.startswith("429"):
            after = fault.partition("/")[2] or "0"
            headers = [("content-type", problem)] + ([] if after == "-" else [("retry-after", after)])
            return self._answer(429, _problem(429, "limit_exceeded"), headers)
        if self._upstream is None:
            self._upstream = http.client.HTTPConnection(*proxy.target, timeout=60)
        forward = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        try:
            self._upstream.request(self.command, self.path, body=body, headers=forward)
            res = self._upstream.getresponse()
            data = res.read()
        except (OSError, http.client.HTTPException):
            self._upstream.close()
            self._upstream = None
            return self._answer(502, b"upstream failed", [("content-type", "text/plain")])
        proxy._applied(call)
        if fault == "lost":
            self.close_connection = True
            return
        if fault == "lost502":
            return self._answer(502, b"Bad Gateway", [("content-type", "text/plain")])
        self._answer(res.status, data, [(k, v) for k, v in res.getheaders() if k.lower() not in _HOP])

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_any

    def _answer(self, status, data, headers):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if status not in (204, 304):
            self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def finish(self):
        super().finish()
        if self._upstream is not None:
            self._upstream.close()


class RetryTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proxy = FaultProxy(URL)

    @classmethod
    def tearDownClass(cls):
        cls.proxy.close()

    def setUp(self):
        self.proxy.reset()
        fast = mock.patch.object(_http, "BASE_DELAY", 0.01)  # the backoff's shape, not its length, is tested here
        fast.start()
        self.addCleanup(fast.stop)

    def queue(self, **options):
        q = jq.Queue(url=self.proxy.url, sockets=False, **options)
        self.addCleanup(lambda: (self.proxy.reset(), q.delete()))
        return q

    def assertCounts(self, q, **expected):
        stats = q.stats()
        self.assertEqual({k: stats[k] for k in expected}, expected)

    def test_a_put_lands_once_through_every_failure(self):
        q = self.queue()
        self.proxy.fail("put", "503", "lost", "drop", "lost502")  # four failures, then the fifth attempt
        q.put("a")
        self.assertEqual(self.proxy.forwarded("put"), 3)  # the service saw it three times, and added it once
        self.assertCounts(q, qsize=1, unfinished_tasks=1, puts=1)
        self.proxy.fail("put", "500", "502", "429", "lost")
        q.put("b")
        self.assertCounts(q, qsize=2, unfinished_tasks=2, puts=2)
        self.assertEqual([q.get_nowait(), q.get_nowait()], ["a", "b"])

    def test_put_many_lands_each_item_once_and_in_order(self):
        q = self.queue()
        self.proxy.fail("put", None, "lost", "500", "lost502", None, "drop")  # batch 2 three times, batch 3 once
        q.put_many(list(range(250)))
        self.assertCounts(q, qsize=250, unfinished_tasks=250, puts=250)
        self.assertEqual([job.item for _ in range(3) for job in q.get_many(100)], list(range(250)))

    def test_a_get_whose_answer_is_lost_leaves_its_item_for_one_lease(self):
        q = self.queue(lease_seconds=1)
        q.put_many(["a", "b"])
        self.proxy.fail("get", "lost", "502", "drop")  # "a" is delivered to the lost answer
        self.assertEqual(q.get(), "b")
        q.task_done()
        job = q.get_job(timeout=5)  # "a" comes back once its lease ends
        self.assertEqual((job.item, job.deliveries), ("a", 2))
        q.task_done()
        self.assertTrue(q.join(timeout=5))
        self.assertCounts(q, unfinished_tasks=0, completed=2, qsize=0)

    def test_a_task_done_counts_once_whatever_fails(self):
        q = self.queue()
        q.put_many(["a", "b"])
        q.get()
        job = q.get_job()
        self.proxy.fail("task_done", "lost", "lost502", "500", "503")
        q.task_done()  # "a", by its receipt: each repeat answers "replayed"
        self.assertCounts(q, unfinished_tasks=1, completed=1)
        self.proxy.fail("task_done", "lost")
        self.assertEqual(q.task_done_many([job]), ["replayed"])  # the lost attempt completed it
        self.assertCounts(q, unfinished_tasks=0, completed=2)
        with self.assertRaisesRegex(ValueError, "too many"):
            q.task_done()  # nothing left to complete: no task_done was counted twice

    def test_an_anonymous_task_done_is_never_sent_twice(self):
        q = self.queue(lease_seconds=None)  # no leases: deliveries carry no receipt, and task_done() is anonymous
        q.put_many(["a", "b", "c"])
        q.get(), q.get(), q.get()
        self.proxy.fail("task_done", "429")  # a refusal that did nothing: retried
        q.task_done()
        self.assertCounts(q, unfinished_tasks=2)
        self.proxy.fail("task_done", "lost")  # maybe applied: a repeat could complete a second item
        with self.assertRaises(jq.QueueError) as raised:
            q.task_done()
        self.assertEqual(raised.exception.code, "unavailable")
        self.assertEqual((self.proxy.seen("task_done"), self.proxy.forwarded("task_done")), (3, 2))
        self.assertCounts(q, unfinished_tasks=1)  # it had landed, once
        self.proxy.fail("task_done", "503")
        with self.assertRaises(jq.QueueError):
            q.task_done()
        self.assertCounts(q, unfinished_tasks=1)  # this one had not: the caller may call again
        q.task_done()
        self.assertCounts(q, unfinished_tasks=0)

    def test_a_get_without_leases_is_never_sent_twice(self):
        q = self.queue(lease_seconds=None)  # a lost delivery would be lost for good: no repeat that may take another
        q.put_many(["a", "b"])
        self.proxy.fail("get", "429", "lost")
        with self.assertRaises(jq.QueueError):
            q.get()
        self.assertEqual((self.proxy.seen("get"), self.proxy.forwarded("get")), (2, 1))
        self.assertEqual(q.get(), "b")

    def test_a_waiting_join_survives_failures_and_goes_on_waiting(self):
        q = self.queue()
        q.put("a")
        job = q.get_job()
        threading.Timer(0.5, job.done).start()
        # Refused twice, then a join that waits in the service until the task_done, whose answer is lost: the
        # fourth attempt finds the queue drained.
        self.proxy.fail("join", "drop", "503", "lost")
        started = time.monotonic()
        self.assertIsNone(q.join())
        self.assertGreaterEqual(time.monotonic() - started, 0.4)
        self.assertEqual(self.proxy.seen("join"), 4)

    def test_a_waiting_get_survives_failures_and_goes_on_waiting(self):
        q = self.queue(lease_seconds=1)
        threading.Timer(0.5, q.put, args=("x",)).start()
        self.proxy.fail("get", "drop", "lost")  # the item reaches the lost answer, and comes back after its lease
        job = q.get_job()
        self.assertEqual((job.item, job.deliveries), ("x", 2))
        job.done()
        self.assertCounts(q, unfinished_tasks=0, completed=1, puts=1)

    def test_a_retried_wait_waits_for_what_is_left_of_its_timeout(self):
        q = self.queue()
        self.proxy.fail("get", "lost")  # the service waits the whole second, then the answer is lost
        started = time.monotonic()
        with self.assertRaises(jq.Empty):
            q.get(timeout=1)
        self.assertLess(time.monotonic() - started, 1.9)  # not a second second
        self.assertEqual(self.proxy.forwarded("get"), 2)

    def test_release_and_delete_whose_answers_are_lost(self):
        q = self.queue(lease_seconds=30)
        q.put("a")
        job = q.get_job()
        self.proxy.fail("release", "lost")  # the repeat finds the delivery released: stale_receipt means it landed
        job.release()
        self.assertEqual(q.get_nowait(), "a")
        q.task_done()
        other = jq.Queue(url=self.proxy.url, sockets=False)
        self.proxy.fail("DELETE", "lost")  # the repeat finds no queue: not_found means it landed
        other.delete()
        with self.assertRaises(jq.QueueError) as raised:
            other.stats()
        self.assertEqual(raised.exception.code, "not_found")

    def test_429_waits_what_retry_after_asks_up_to_the_cap(self):
        q = self.queue()
        self.proxy.fail("put", "429/1")
        started = time.monotonic()
        q.put("a")
        self.assertGreaterEqual(time.monotonic() - started, 1.0)
        with mock.patch.object(_http, "MAX_DELAY", 0.2):
            self.proxy.fail("put", "429/3600", "429/-")
            started = time.monotonic()
            q.put("b")
            self.assertLess(time.monotonic() - started, 1.0)
        self.assertCounts(q, qsize=2, puts=2)

    def test_retries_is_a_setting(self):
        q = self.queue(retries=0)
        self.proxy.fail("put", "503")
        with self.assertRaises(jq.QueueError) as raised:
            q.put("a")
        self.assertEqual((raised.exception.code, self.proxy.seen("put")), ("unavailable", 1))
        self.assertEqual(pickle.loads(pickle.dumps(q))._http.retries, 0)  # a copy in another process retries alike
        with mock.patch.dict(os.environ, {"JOINABLE_QUEUES_RETRIES": "1"}):
            q = jq.Queue(name=q.name, url=self.proxy.url, sockets=False)
            self.proxy.fail("put", "503", "503", "503")
            with self.assertRaises(jq.QueueError):
                q.put("b")
            q.put("c")  # the third 503, then the service
            with mock.patch.dict(os.environ, {"JOINABLE_QUEUES_RETRIES": "many"}):
                with self.assertRaisesRegex(ValueError, "JOINABLE_QUEUES_RETRIES"):
                    jq.Queue(url=self.proxy.url)
        with self.assertRaisesRegex(ValueError, "retries"):
            jq.Queue(url=self.proxy.url, retries=-1)
        self.assertEqual(jq.Queue(name=q.name, url=self.proxy.url)._http.retries, _http.RETRIES)
        self.assertEqual(_http.RETRIES, 4)
        self.assertEqual(q.get_nowait(), "c")

    def test_what_no_retry_can_change_is_raised_at_once(self):
        q = self.queue()
        self.proxy.fail("put", "not_configured")
        with self.assertRaises(jq.QueueError) as raised:
            q.put("a")
        self.assertEqual((raised.exception.code, self.proxy.seen("put")), ("not_configured", 1))
        with self.assertRaises(ValueError):
            q.task_done()  # a 409: an answer, not a failure
        self.assertEqual(self.proxy.seen("task_done"), 1)

    def test_a_consumer_thread_survives_failures_of_every_call(self):
        q = self.queue(lease_seconds=2)  # a lost delivery comes back after 2 s; a held one is extended in time
        got, errors = [], []

        def consumer():
            try:
                while True:
                    try:
                        item = q.get()
                    except jq.ShutDown:
                        return
                    got.append(item)
                    q.task_done()
            except BaseException as e:  # noqa: B036 - the test reports whatever killed the thread
                errors.append(e)

        self.proxy.fail("get", "lost", None, "503", None, "drop", None, "lost502", "500")
        self.proxy.fail("task_done", None, "lost", None, "500", "lost502", "drop")
        self.proxy.fail("put", "lost", None, "drop", "lost502", None, "503")
        self.proxy.fail("join", "drop", "lost", "502")
        threads = [threading.Thread(target=consumer) for _ in range(2)]
        for t in threads:
            t.start()
        for item in range(20):
            q.put(item)
        self.assertIsNone(q.join())
        q.shutdown()
        for t in threads:
            t.join(10)
        self.assertEqual(errors, [])
        self.assertEqual(sorted(got), list(range(20)))  # each item got once: a lost delivery came back, once
        self.assertCounts(q, unfinished_tasks=0, completed=20, puts=20, qsize=0)
        self.assertEqual(self.proxy.pending(), {})  # every fault was met


if __name__ == "__main__":
    unittest.main()
