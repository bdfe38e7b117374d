"""The result vocabulary and the result record: the one place these are defined.

Every layer (engine, agent, ingest, API, pages) refers to ``Status`` here.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

# Bumped whenever the JSON document written by ``run --json`` changes shape.
SCHEMA_VERSION = 1


class Status(enum.StrEnum):
    PASS = "pass"  # the feature did what it promises
    FAIL = "fail"  # it exists but misbehaved
    UNSUPPORTED = "unsupported"  # this kernel lacks it (ENOSYS, unknown flag, missing file)
    DISABLED = "disabled"  # present but switched off by a sysctl or policy
    DENIED = "denied"  # not enough privilege (EPERM/EACCES)
    SKIPPED = "skipped"  # a userspace prerequisite is missing; the kernel may have it
    ERROR = "error"  # the probe itself broke
    TIMEOUT = "timeout"  # the probe overran its deadline and was killed

    @property
    def label(self) -> str:
        return self.value.capitalize()


# Statuses that say something about the kernel rather than about the probe.
KERNEL_VERDICTS = frozenset({Status.PASS, Status.FAIL, Status.UNSUPPORTED, Status.DISABLED})


@dataclass
class ProbeResult:
    """What one probe observed on one host, as it travels in JSON."""

    probe_id: str
    status: Status
    detail: str
    evidence: dict[str, Any] = field(default_factory=dict)
    duration_ms: float = 0.0
    config: dict[str, str] = field(default_factory=dict)  # CONFIG_ options explaining a non-pass

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProbeResult:
        return cls(
            probe_id=str(data["probe_id"]),
            status=Status(data["status"]),
            detail=str(data.get("detail", "")),
            evidence=dict(data.get("evidence") or {}),
            duration_ms=float(data.get("duration_ms") or 0.0),
            config={str(k): str(v) for k, v in (data.get("config") or {}).items()},
        )
