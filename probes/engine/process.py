"""Forked helpers for probes: a child that runs a function and reports back, and gates.

``Child(fn)`` forks; the child runs ``fn()`` and sends its JSON-able return
value, or the errno of an ``OSError`` (re-raised in the parent so that
ENOSPC stays ``disabled`` and EPERM ``denied`` across the fork), or a
``Verdict`` it raised. Children leave with ``os._exit`` so no atexit handler
or duplicated stdio buffer of the runner ever runs twice.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import traceback
from collections.abc import Callable
from typing import Any

from . import channel
from .results import Status
from .verdicts import Verdict


class ChildError(RuntimeError):
    """The child raised something other than OSError or Verdict."""


class Child:
    def __init__(self, fn: Callable[[], Any]) -> None:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            os.close(read_fd)
            _run_and_report(fn, write_fd)
        os.close(write_fd)
        self.pid = pid
        self._reader = channel.Reader(read_fd)
        self._status: int | None = None

    def result(self, timeout: float = 5.0) -> Any:
        """The child's return value; its OSError or Verdict is re-raised here."""
        try:
            record = self._reader.next(timeout)
        except EOFError:
            status = self.wait()
            raise ChildError(
                f"child died without a result ({describe_wait_status(status)})"
            ) from None
        if "errno" in record:
            raise OSError(record["errno"], record["message"])
        if "verdict" in record:
            status, detail, evidence = record["verdict"]
            raise Verdict(Status(status), detail, **evidence)
        if "exception" in record:
            raise ChildError(record["exception"])
        return record["value"]

    def wait(self, timeout: float | None = None) -> int:
        """Reap the child and return its raw wait status (kill it past ``timeout``)."""
        if self._status is None:
            if timeout is not None and not wait_exit(self.pid, timeout):
                self.kill()
            _, self._status = os.waitpid(self.pid, 0)
            os.close(self._reader.fd)
        return self._status

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self._status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def finish(self) -> None:
        """Kill if still running and reap; safe to call twice (use in finally)."""
        self.kill()
        self.wait()


def _run_and_report(fn: Callable[[], Any], fd: int) -> None:  # pragma: no cover - child
    try:
        record: dict[str, Any] = {"value": fn()}
    except OSError as err:
        record = {"errno": err.errno, "message": str(err)}
    except Verdict as verdict:
        record = {"verdict": [verdict.status.value, verdict.detail, verdict.evidence]}
    except BaseException as exc:  # noqa: BLE001 - everything must reach the parent
        record = {"exception": "".join(traceback.format_exception_only(exc)).strip()}
    try:
        channel.send(fd, record)
    finally:
        os._exit(0)


def wait_exit(pid: int, timeout: float) -> bool:
    """Wait up to ``timeout`` seconds for ``pid`` to exit, without reaping it."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        ready, _, _ = select.select([pidfd], [], [], timeout)
        return bool(ready)
    finally:
        os.close(pidfd)


def describe_wait_status(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


class Gate:
    """A one-shot handshake across fork: one side opens, the other waits."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()

    def open(self, payload: bytes = b"1") -> None:
        os.write(self._write, payload)

    def wait(self, timeout: float = 5.0) -> bytes:
        ready, _, _ = select.select([self._read], [], [], timeout)
        if not ready:
            raise TimeoutError("gate not opened in time")
        return os.read(self._read, 4096)

    def close(self) -> None:
        for fd in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(fd)
