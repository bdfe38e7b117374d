"""Messages between forked processes: JSON records ended by b"\\n\\0" on a pipe.

Readers never wait for EOF: grandchildren inherit write ends and may keep a
pipe open long after the writer is gone, so a record's terminator is the end.
"""

from __future__ import annotations

import json
import os
import select
import time
from typing import Any

TERMINATOR = b"\n\0"


def send(fd: int, record: dict[str, Any]) -> None:
    data = json.dumps(record, default=str).encode() + TERMINATOR
    while data:
        data = data[os.write(fd, data) :]


class Reader:
    """Splits the bytes arriving on one pipe into records."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._buffer = b""
        self.eof = False

    def feed(self) -> list[dict[str, Any]]:
        """Read what is ready (one os.read) and return the complete records."""
        chunk = os.read(self.fd, 65536)
        if not chunk:
            self.eof = True
        self._buffer += chunk
        records = []
        while TERMINATOR in self._buffer:
            raw, self._buffer = self._buffer.split(TERMINATOR, 1)
            records.append(json.loads(raw))
        return records

    def next(self, timeout: float) -> dict[str, Any]:
        """Block for the next record; TimeoutError past ``timeout`` seconds, EOFError at EOF."""
        deadline = time.monotonic() + timeout
        while True:
            if TERMINATOR in self._buffer:
                raw, self._buffer = self._buffer.split(TERMINATOR, 1)
                return json.loads(raw)
            if self.eof:
                raise EOFError("the writer closed the pipe without a record")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no record within {timeout:.1f} s")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, 65536)
                self.eof = not chunk
                self._buffer += chunk
