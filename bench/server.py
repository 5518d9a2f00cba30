"""Run the web app under gunicorn for a benchmark, and always stop it again."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.registry import BenchError
from bench.site import BASE_DIR, SETTINGS_MODULE, Site

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait_until_healthy(process: subprocess.Popen, port: int, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"gunicorn stopped (exit code {process.returncode}) before it answered:\n{_tail(log)}")
        connection = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            response = connection.getresponse()
            body = response.read()
            if response.status == 200:
                return
            last = f"HTTP {response.status}: {body[:300].decode(errors='replace')}"
        except OSError as exc:
            last = str(exc)
        finally:
            connection.close()
        time.sleep(0.1)
    raise BenchError(f"gunicorn did not answer /healthz within {timeout:.0f} s (last: {last}).\n{_tail(log)}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()  # graceful: workers finish their request
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def gunicorn(site: Site, *, workers: int = 2, worker_class: str = "sync", timeout: float = 60) -> Iterator[int]:
    """Start gunicorn on a free port of 127.0.0.1, wait until /healthz answers, yield the port; stop it after."""
    port = free_port()
    log = site.workdir / f"gunicorn-{port}.log"
    command = [
        sys.executable, "-m", "gunicorn", "billing_site.wsgi:application",
        "--bind", f"{HOST}:{port}",
        "--workers", str(workers),
        "--worker-class", worker_class,
        "--env", f"DJANGO_SETTINGS_MODULE={SETTINGS_MODULE}",
        "--log-level", "warning",
        "--graceful-timeout", "5",
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments, no shell
            command, cwd=BASE_DIR, env={**os.environ, **site.env}, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_healthy(process, port, log, timeout)
        yield port
    finally:
        _stop(process)
