"""Running `handover serve` and `handover worker` as real processes for integration and e2e tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def wait_for(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll until `condition()` is truthy; fail naming `what`. A liveness bound, not a speed assertion."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class Process:
    """A `handover` subcommand in its own process group (so a kill takes its children too). Every one
    started is remembered for `reap_leftovers` (tests/conftest.py runs it after each test)."""

    started: list[Process] = []

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.args = args
        self.env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
        self.log_path = log_path
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with self.log_path.open("ab") as log:  # the child keeps its own descriptor
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "app.cli", *self.args],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        Process.started.append(self)
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def signal(self, sig: signal.Signals) -> None:
        os.killpg(self.pid, sig)

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group, as a crash or the OOM killer would."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):  # also whatever it left behind in its group
            os.killpg(self.pid, signal.SIGKILL)
        self.popen.wait()

    def stop(self) -> None:
        if not self.running:
            return
        os.killpg(self.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)  # type: ignore[union-attr]
        self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def reap_leftovers(since: int) -> list[str]:
    """Kill every process started since `since` (a length of `Process.started`) that is still running, so
    that it cannot work on the next test's Redis (the integration tests share one redis-server); returns
    what was left, to be reported. Those started before (by a module's fixture) are left alone."""
    left = [process for process in Process.started[since:] if process.running]
    for process in left:
        process.kill()
    Process.started[:] = [process for process in Process.started[:since] if process.running]
    return [f"{' '.join(process.args)} (log {process.log_path})" for process in left]


def http_json(
    method: str,
    url: str,
    payload: Any = None,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> tuple[int, Any]:
    raw = data if data is not None else (json.dumps(payload).encode() if payload is not None else None)
    request = urllib.request.Request(
        url, data=raw, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read().decode()
            status = response.status
    except urllib.error.HTTPError as exc:
        with exc:  # its response holds the socket: closed here, not whenever the collector runs
            text, status = exc.read().decode(), exc.code
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def is_up(url: str) -> bool:
    try:
        return http_json("GET", url)[0] == 200
    except OSError:
        return False
