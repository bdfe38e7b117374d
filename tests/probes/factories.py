"""Recording results through the real ingest path, for tests that need a history."""

from __future__ import annotations

from probes import protocol
from probes.models import Host, ProbeRun
from probes.services import hosts, ingest


def host(name: str) -> Host:
    return Host.objects.filter(name=name).first() or hosts.host_enroll(name)


def observe(host_name: str, release: str, statuses: dict[str, str]) -> ProbeRun:
    """One run on ``host_name`` under kernel ``release`` that saw ``statuses``."""
    target = host(host_name)
    run = ProbeRun.objects.create(
        host=target, trigger="api", probe_ids=list(statuses), expected=len(statuses)
    )
    envelopes = [
        protocol.seal(
            target.name,
            protocol.KIND_RESULT,
            {
                "run_id": run.pk,
                "kernel_release": release,
                "result": {"probe_id": probe_id, "status": status, "detail": "test"},
            },
            target.secret,
        )
        for probe_id, status in statuses.items()
    ]
    outcomes = ingest.envelopes_ingest(envelopes)
    assert outcomes == ["stored"] * len(envelopes), outcomes
    run.refresh_from_db()
    return run
