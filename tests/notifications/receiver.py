"""A real webhook receiver for the tests: an HTTP server on 127.0.0.1 in a thread, answering each request
with the next scripted reply (a status code, or "hang" to sit past the sender's timeout), and keeping
every request's headers and body so tests can verify signatures with the standardwebhooks library."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook


@dataclass
class Received:
    headers: dict
    body: bytes

    def verify(self, secret: str) -> dict:
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    script: list = field(default_factory=list)  # replies in order; when used up: `then`
    then: int = 204
    hang_seconds: float = 3.0
    requests: list[Received] = field(default_factory=list)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                reply = receiver.script.pop(0) if receiver.script else receiver.then
                if reply == "hang":
                    time.sleep(receiver.hang_seconds)
                    reply = 200
                self.send_response(reply)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.requests
