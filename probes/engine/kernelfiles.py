"""Reading and writing the kernel's files (/proc, /sys, cgroupfs)."""

from __future__ import annotations

import os


def read_text(path: str, default: str | None = None) -> str | None:
    """The file's text, stripped; ``default`` when it cannot be read."""
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def write_once(path: str, value: str) -> None:
    """Write ``value`` in one write(2): id maps, timens_offsets and cgroupfs files parse
    each write on its own, so a buffered writer that splits it would break them."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)
