"""The asyncio client's HTTP over asyncio streams, against a scripted server: the threaded transport's retry policy
(a network error, 408, 429 and 5xx retried with backoff where a repeat is safe), problem documents as the client's
exceptions, kept-alive connections, chunked answers. No service needed."""
import asyncio
import json
import unittest

import joinable_queues as jq
from joinable_queues._aio_http import AsyncTransport
from joinable_queues._http import Transport


def answer(status, body=None, headers=(), chunked=False):
    data = b"" if body is None else json.dumps(body).encode()
    head = [f"HTTP/1.1 {status} X", "content-type: application/json", *headers]
    if chunked:
        half = len(data) // 2
        chunks = b"".join(f"{len(c):x}\r\n".encode() + c + b"\r\n" for c in (data[:half], data[half:]) if c)
        return ("\r\n".join([*head, "transfer-encoding: chunked"]) + "\r\n\r\n").encode() + chunks + b"0\r\n\r\n"
    return ("\r\n".join([*head, f"content-length: {len(data)}"]) + "\r\n\r\n").encode() + data


def problem(status, code):
    return answer(status, {"code": code, "status": status, "detail": code})


class AsyncTransportTest(unittest.IsolatedAsyncioTestCase):
    async def serve(self, *script):
        """A server answering each request with the next of ``script`` (None: close the connection unanswered)."""
        self.script, self.requests, self.connections = list(script), [], 0

        async def handle(reader, writer):
            self.connections += 1
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    writer.close()  # the client closed its connection
                    return
                length = int(next((line.split(b":")[1] for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length")), b"0"))
                self.requests.append(head.split(b" ")[1].decode() + " " + (await reader.readexactly(length)).decode())
                reply = self.script.pop(0)
                if reply is None:
                    writer.close()
                    return
                writer.write(reply)

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.addAsyncCleanup(server.wait_closed)
        self.addCleanup(server.close)
        return AsyncTransport(Transport(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", "t0ken", 3))

    async def test_transient_failures_are_retried_on_kept_alive_connections(self):
        http = await self.serve(problem(503, "unavailable"), problem(429, "limit_exceeded"), None,
                                answer(200, {"ok": 1}, chunked=True), answer(204))
        self.assertEqual(await http.request("POST", "/v1/x", {"a": 1}), {"ok": 1})
        self.assertEqual(self.requests, ['/v1/x {"a": 1}'] * 4)
        self.assertIsNone(await http.request("DELETE", "/v1/x"))
        self.assertEqual(self.connections, 2)  # one more after the connection that closed unanswered
        await http.aclose()

    async def test_problems_are_the_clients_exceptions_and_unsafe_calls_are_not_repeated(self):
        http = await self.serve(problem(409, "empty"), problem(409, "task_done_too_many"), problem(503, "unavailable"),
                                problem(400, "invalid_request"))
        with self.assertRaises(jq.Empty):
            await http.request("POST", "/v1/get", {})
        with self.assertRaises(ValueError):
            await http.request("POST", "/v1/task_done", {}, safe=False)
        with self.assertRaises(jq.QueueError) as failed:  # the service may have acted on it: not sent again
            await http.request("POST", "/v1/task_done", {}, safe=False)
        self.assertEqual((failed.exception.code, len(self.requests)), ("unavailable", 3))
        with self.assertRaises(jq.QueueError) as refused:
            await http.request("GET", "/v1/y")
        self.assertEqual(refused.exception.code, "invalid_request")
        await http.aclose()

    async def test_retries_end(self):
        http = await self.serve(*[problem(500, "internal")] * 4)
        with self.assertRaises(jq.QueueError) as failed:
            await http.request("GET", "/v1/z")
        self.assertEqual((failed.exception.code, len(self.requests)), ("internal", 4))  # the first and 3 retries
        await http.aclose()


if __name__ == "__main__":
    unittest.main()
