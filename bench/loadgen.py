"""A small HTTP load generator: C client threads, each with its own http.client connection (kept alive when
the server allows it), sharing a fixed number of requests. Bounded in count and in time."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.common import latency_summary


@dataclass
class LoadResult:
    requests: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    def summary(self) -> dict:
        return {
            "requests": self.requests,
            "ok": self.ok,
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "errors": self.errors[:5],
            "seconds": round(self.seconds, 2),
            "rps": round(self.ok / self.seconds, 1) if self.seconds else None,
            **latency_summary(self.latencies),
        }


def run(
    *,
    host: str,
    port: int | list[int],
    clients: int,
    total: int,
    request: Callable[[int], tuple[str, str, dict, bytes | None]],
    time_limit: float = 300,
) -> LoadResult:
    """`request(n)` gives the n-th request as (method, path, headers, body). Only 2xx latencies are kept.
    With several ports (several servers), client i talks to port i mod their number."""
    ports = port if isinstance(port, list) else [port]
    lock = threading.Lock()
    counter = iter(range(total))
    result = LoadResult(requests=0, seconds=0.0)
    barrier = threading.Barrier(clients + 1)
    deadline = [0.0]

    def take() -> int | None:
        with lock:
            return next(counter, None)

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(host, ports[index % len(ports)], timeout=60)
        latencies, statuses, errors = [], {}, []
        barrier.wait()
        while time.perf_counter() < deadline[0]:
            n = take()
            if n is None:
                break
            method, path, headers, body = request(n)
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()  # the next request reconnects (gunicorn's sync workers close every connection)
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                continue
            elapsed = time.perf_counter() - started
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if 200 <= response.status < 300:
                latencies.append(elapsed)
        conn.close()
        with lock:
            result.latencies.extend(latencies)
            for status, n in statuses.items():
                result.statuses[status] = result.statuses.get(status, 0) + n
            result.errors.extend(errors)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + time_limit
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join(time_limit + 60)
    result.seconds = time.perf_counter() - started
    result.requests = sum(result.statuses.values()) + len(result.errors)
    return result


def get(path: str, token: str) -> Callable[[int], tuple]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    return lambda n: ("GET", path, headers, None)


def redeem(
    targets: list[tuple[int, int]], service_id: int, token: str, *, idempotent: bool = False, salt: str = ""
) -> Callable[[int], tuple]:
    """POST /api/v1/packages/{id}/redemptions across the targets (package id, centre id), round robin."""
    base = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}

    def make(n: int):
        package_id, centre_id = targets[(n * 7919) % len(targets)]
        headers = dict(base, **({"Idempotency-Key": f"bench-{salt}-{n}"} if idempotent else {}))
        body = json.dumps({"service_id": service_id, "centre_id": centre_id}).encode()
        return "POST", f"/api/v1/packages/{package_id}/redemptions", headers, body

    return make


def redeem_one(package_id: int, centre_id: int, service_id: int, token: str) -> Callable[[int], tuple]:
    """The same redemption every time: the hot package's race over HTTP."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", "Accept": "application/json"}
    body = json.dumps({"service_id": service_id, "centre_id": centre_id}).encode()
    return lambda n: ("POST", f"/api/v1/packages/{package_id}/redemptions", headers, body)


def wait_until_up(host: str, port: int, path: str, token: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(host, port, timeout=5)
            conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status == 200:
                return
            last = f"HTTP {response.status}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.2)
    raise RuntimeError(f"the server on port {port} did not come up: {last}")
