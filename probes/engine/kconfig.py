"""The running kernel's build configuration, when the host exposes it."""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class KernelConfig:
    source: str | None  # where it was read from; None when unreadable
    options: dict[str, str] = field(default_factory=dict)  # CONFIG_X -> "y" / "m" / value

    def explain(self, names: tuple[str, ...]) -> dict[str, str]:
        """The given CONFIG_ options as set here ("not set" when absent)."""
        if self.source is None:
            return {}
        return {name: self.options.get(name, "not set") for name in names}


def _parse(lines: list[str]) -> dict[str, str]:
    options = {}
    for line in lines:
        line = line.strip()
        if line.startswith("CONFIG_") and "=" in line:
            name, value = line.split("=", 1)
            options[name] = value.strip('"')
    return options


def read(release: str | None = None) -> KernelConfig:
    release = release or os.uname().release
    try:
        with gzip.open("/proc/config.gz", "rt") as f:
            return KernelConfig("/proc/config.gz", _parse(f.readlines()))
    except OSError:
        pass
    path = f"/boot/config-{release}"
    try:
        with open(path) as f:
            return KernelConfig(path, _parse(f.readlines()))
    except OSError:
        return KernelConfig(None)
