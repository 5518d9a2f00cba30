"""A small closed-loop HTTP load generator: N client threads, keep-alive connections, bounded in count and time."""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None
    headers: dict[str, str]
    expected: Any = None


#: Returns None when the response is right, else what is wrong with it.
Check = Callable[[Request, int, bytes], str | None]


@dataclass
class LoadResult:
    requests: int = 0
    elapsed: float = 0.0
    connections: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def percentile_ms(self, percent: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0] * 1000 if self.latencies else 0.0
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[percent - 1] * 1000


def drive(
    *,
    host: str,
    port: int,
    requests: Sequence[Request],
    check: Check,
    threads: int = 2,
    seconds: float = 5.0,
    max_requests: int = 100_000,
) -> LoadResult:
    """Each thread sends ``requests`` in turn (from its own offset) until the time or the count runs out.

    Stops at the first wrong answer. http.client keeps the connection open between requests and
    reconnects when the server closes it (``connections`` counts how often it connected).
    """
    result = LoadResult()
    lock = threading.Lock()
    stop = threading.Event()
    start = threading.Barrier(threads + 1)
    budget = [max_requests]
    deadline = [0.0]

    def client(offset: int) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        latencies: list[float] = []
        connections = 0
        index = offset
        start.wait()
        try:
            while not stop.is_set() and time.perf_counter() < deadline[0]:
                with lock:
                    if budget[0] <= 0:
                        break
                    budget[0] -= 1
                request = requests[index % len(requests)]
                index += threads
                if connection.sock is None:
                    connections += 1
                began = time.perf_counter()
                connection.request(request.method, request.path, request.body, request.headers)
                response = connection.getresponse()
                body = response.read()
                latencies.append(time.perf_counter() - began)
                problem = check(request, response.status, body)
                if problem:
                    with lock:
                        result.errors.append(problem)
                    stop.set()
        except (OSError, http.client.HTTPException) as exc:
            with lock:
                result.errors.append(f"{type(exc).__name__}: {exc}")
            stop.set()
        finally:
            connection.close()
            with lock:
                result.latencies.extend(latencies)
                result.connections += connections

    workers = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    deadline[0] = time.perf_counter() + seconds
    began = time.perf_counter()
    try:
        start.wait()
        for worker in workers:
            worker.join()
    except BaseException:  # Ctrl-C: let the clients finish their request and stop
        stop.set()
        for worker in workers:
            worker.join(timeout=35)
        raise
    result.elapsed = time.perf_counter() - began
    result.requests = len(result.latencies)
    return result
