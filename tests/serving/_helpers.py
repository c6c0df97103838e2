"""A real ``loopml serve`` in a subprocess, for the tests that need sockets, workers, signals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

#: Variables a test process may have that the server must not inherit.
_NOT_INHERITED = ("PROMETHEUS_MULTIPROC_DIR", "LOOPML_URI", "LOOPML_ARTIFACTS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(process: subprocess.Popen[bytes], url: str, timeout: float = 90) -> None:
    """Poll ``/v2/health/ready`` until 200; fail if the server exits or takes too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"loopml serve exited with {process.returncode} before ready")
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} was not ready within {timeout} s")


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> int:
    """SIGTERM (the server drains and writes out its log), then SIGKILL if it hangs."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def start(
    folder: Path, *args: str, new_session: bool = False
) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m loopml serve ARGS --port P`` in ``folder`` (its workspace), ready:
    (process, base URL)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "loopml", "serve", *args, "--port", str(port)],
        cwd=folder,
        env={k: v for k, v in os.environ.items() if k not in _NOT_INHERITED},
        start_new_session=new_session,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, url)
    except BaseException:
        stop(process)
        raise
    return process, url


@contextmanager
def served(
    folder: Path, *args: str, new_session: bool = False
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """:func:`start`, then :func:`stop` when the block ends."""
    process, url = start(folder, *args, new_session=new_session)
    try:
        yield process, url
    finally:
        stop(process)
