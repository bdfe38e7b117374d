"""Fixtures for the probe engine's own tests (no Django here: the engine must not need it).

``make_probe`` builds test-only ``catalogue.Probe`` objects that are never
registered in ``CATALOGUE``; ``side_channel`` lets such a probe (a forked
child of the runner) tell the test what it created: pids, paths, cgroups.
"""

from __future__ import annotations

import json
import os
import select
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from probes.engine import catalogue
from probes.engine.context import ProbeContext
from probes.engine.verdicts import Verdict

ProbeFunc = Callable[[ProbeContext], Verdict]


@pytest.fixture
def make_probe() -> Callable[..., catalogue.Probe]:
    def build(
        probe_id: str,
        func: ProbeFunc,
        *,
        timeout: float = 5.0,
        exclusive: bool = False,
        needs_root: bool = False,
    ) -> catalogue.Probe:
        return catalogue.Probe(
            id=probe_id,
            title=f"test-only probe {probe_id}",
            item="task-containers-base",
            since="2.6.24",
            config=("CONFIG_TEST_ONLY",),
            needs_root=needs_root,
            intrusive=False,
            exclusive=exclusive,
            timeout=timeout,
            func=func,
        )

    return build


class SideChannel:
    """A pipe a test probe writes JSON lines to; the test reads them after the run."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()

    def send(self, **values: Any) -> None:
        os.write(self.write_fd, json.dumps(values).encode() + b"\n")

    def receive(self) -> list[dict[str, Any]]:
        data = b""
        while select.select([self.read_fd], [], [], 0)[0]:
            chunk = os.read(self.read_fd, 65536)
            if not chunk:
                break
            data += chunk
        return [json.loads(line) for line in data.splitlines() if line.strip()]

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            os.close(fd)


@pytest.fixture
def side_channel() -> Iterator[SideChannel]:
    channel = SideChannel()
    yield channel
    channel.close()
