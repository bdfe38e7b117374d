"""The probe catalogue: one declaration per probe, registered by ``@probe``.

The probe families live in ``probes/engine/probes/`` (one module per family);
``load()`` imports them all and returns the complete ``CATALOGUE``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .context import ProbeContext
    from .verdicts import Verdict

DEFAULT_TIMEOUT = 10.0  # seconds; probes with real workloads declare more

# The roadmap areas of the 2007 seed, in the mail's order, and the seed items
# each probe family gives evidence for. The seed command is the source of the
# items; a test checks that every slug here exists there.
AREAS: dict[str, str] = {
    "ongoing-namespaces": "1. Completion of ongoing namespaces",
    "new-namespaces": "2. Continuation with new namespaces",
    "virtual-servers": "3. Additional work for virtual servers",
    "task-containers": "4. Task containers functionality",
    "checkpoint-restart": "5. Checkpoint/restart",
}
ITEM_AREA: dict[str, str] = {
    "ongoing-namespaces": "ongoing-namespaces",
    "pid-namespace": "ongoing-namespaces",
    "net-namespace": "ongoing-namespaces",
    "ro-bind-mounts": "ongoing-namespaces",
    "new-namespaces": "new-namespaces",
    "devpts-console-tty": "new-namespaces",
    "user-namespace": "new-namespaces",
    "time-namespace": "new-namespaces",
    "namespace-management-tools": "new-namespaces",
    "namespace-entering": "new-namespaces",
    "keyring-cross-userns": "virtual-servers",
    "task-containers-base": "task-containers",
    "specific-containers": "task-containers",
    "memory-cr": "checkpoint-restart",
    "per-container-swapfile": "checkpoint-restart",
    "checkpoint-strategy": "checkpoint-restart",
    "restart-strategy": "checkpoint-restart",
}


@dataclass(frozen=True)
class Probe:
    id: str  # stable dotted id, e.g. "ns.pid.isolation"
    title: str
    item: str  # seed slug of the roadmap item (or area) it gives evidence for
    since: str  # first mainline kernel, e.g. "5.6"
    config: tuple[str, ...]  # CONFIG_ options that explain a non-pass
    needs_root: bool
    intrusive: bool  # touches the host beyond its own processes: opt-in only
    exclusive: bool  # measures timing: runs with no other probe beside it
    timeout: float
    func: Callable[[ProbeContext], Verdict]

    @property
    def area(self) -> str:
        return ITEM_AREA[self.item]

    def describe(self) -> dict[str, object]:
        """The declaration as JSON (what the server syncs its Probe rows from)."""
        return {
            "id": self.id,
            "title": self.title,
            "item": self.item,
            "area": self.area,
            "since": self.since,
            "config": list(self.config),
            "needs_root": self.needs_root,
            "intrusive": self.intrusive,
            "timeout": self.timeout,
        }


CATALOGUE: dict[str, Probe] = {}


def probe(
    id: str,  # noqa: A002 - the catalogue calls it id
    *,
    title: str,
    item: str,
    since: str,
    config: Iterable[str] = (),
    needs_root: bool = True,
    intrusive: bool = False,
    exclusive: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> Callable[[Callable[[ProbeContext], Verdict]], Callable[[ProbeContext], Verdict]]:
    """Declare a probe; the decorated function runs in a forked child."""

    def register(func: Callable[[ProbeContext], Verdict]) -> Callable[[ProbeContext], Verdict]:
        if id in CATALOGUE:
            raise ValueError(f"probe {id} declared twice")
        if item not in ITEM_AREA:
            raise ValueError(f"probe {id}: unknown roadmap item {item!r}")
        CATALOGUE[id] = Probe(
            id=id,
            title=title,
            item=item,
            since=since,
            config=tuple(config),
            needs_root=needs_root,
            intrusive=intrusive,
            exclusive=exclusive,
            timeout=timeout,
            func=func,
        )
        return func

    return register


class UnknownProbe(ValueError):
    """A glob or id that matches nothing in the catalogue."""


def select(globs: Iterable[str] = (), *, intrusive: bool = False) -> list[Probe]:
    """Probes matching any glob (all when none), in catalogue order.

    Intrusive probes are left out unless asked for; a glob that names an
    intrusive probe explicitly still needs ``intrusive=True``.
    """
    globs = list(globs)
    for pattern in globs:
        if not any(fnmatch.fnmatchcase(pid, pattern) for pid in CATALOGUE):
            raise UnknownProbe(f"no probe matches {pattern!r}")
    chosen = [
        p
        for pid, p in CATALOGUE.items()
        if not globs or any(fnmatch.fnmatchcase(pid, g) for g in globs)
    ]
    return [p for p in chosen if intrusive or not p.intrusive]


def load() -> dict[str, Probe]:
    """Import every probe family once and return the catalogue."""
    from .probes import ALL_FAMILIES  # noqa: F401 - imported for its registrations

    return CATALOGUE
