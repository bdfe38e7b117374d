"""What a running probe gets: its declaration, scratch names, and cleanup registration.

A probe registers every host-visible thing *before* creating it. The
registration travels to the runner at once, so the runner removes it even
when the probe was killed at its deadline (see ``cleanup.py``).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from . import channel

if TYPE_CHECKING:
    from .catalogue import Probe


class ProbeContext:
    def __init__(self, probe: Probe, report_fd: int) -> None:
        self.probe = probe
        self._report_fd = report_fd
        self.tag = probe.id.replace(".", "_")

    def name(self, suffix: str = "") -> str:
        """A unique name: ``probe_<tag>[_suffix]_<pid>``."""
        middle = f"_{suffix}" if suffix else ""
        return f"probe_{self.tag}{middle}_{os.getpid()}"

    def scratch(self, suffix: str = "") -> str:
        """Create and register a scratch directory ``/tmp/probe_<tag>_<pid>``."""
        path = os.path.join("/tmp", self.name(suffix))
        self.register("path", path)
        os.makedirs(path, exist_ok=True)
        return path

    def register(self, kind: str, path: str) -> None:
        """Tell the runner to remove ``path`` when the probe ends.

        kind is "path" (file or directory tree), "mount" (detached) or
        "cgroup" (members killed, then removed depth-first).
        """
        channel.send(self._report_fd, {"kind": "cleanup", "what": kind, "path": path})
