"""A push receiver as a Python function, served here by the standard library's HTTP server.

    WEBHOOK_SECRET=whsec_... python3 examples/push-receiver/receiver.py 8790

``handle`` is the whole receiver: wrap it in any serverless framework (it takes headers and the raw body, and
answers a status). A 2xx completes the item (its task_done); anything else has it retried with backoff.
"""
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "clients", "python"))
from joinable_queues import WebhookVerificationError, verify_webhook  # noqa: E402

SECRET = os.environ.get("WEBHOOK_SECRET", "")


def handle(headers, body: bytes) -> int:
    try:
        message = verify_webhook(SECRET, headers, body)
    except WebhookVerificationError as e:
        print("refused:", e, flush=True)
        return 401
    data = message["data"]
    if message["type"] == "queue.drained":
        print(f"{data['queue']} drained ({data['dead_lettered']} dead-lettered)", flush=True)
    else:  # at least once: webhook-id is the same on every redelivery of an item
        print(f"job {data['id']} (delivery {data['deliveries']}): {data['item']!r}", flush=True)
    return 204


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(handle({k.lower(): v for k, v in self.headers.items()}, body))
        self.end_headers()

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8790
    print(f"receiving on http://127.0.0.1:{port}", flush=True)
    HTTPServer(("127.0.0.1", port), Receiver).serve_forever()
