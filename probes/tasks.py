"""Central tasks (queue ``central``): thin wrappers over the services.

Names come from ``probes.protocol``: they are a wire protocol with the agents.
"""

from __future__ import annotations

from celery import shared_task

from . import protocol
from .services import ingest, runs

# Every central task finishes well inside protocol.VISIBILITY_TIMEOUT.
INGEST_LIMITS = {"soft_time_limit": 20, "time_limit": 30}


@shared_task(name=protocol.TASK_INGEST, acks_late=True, reject_on_worker_lost=True, **INGEST_LIMITS)
def ingest_envelope(envelope: dict) -> str:
    """Idempotent by message id, so a redelivery after a worker loss stores nothing twice."""
    try:
        return ingest.envelope_ingest(envelope)
    except ingest.Rejected:
        return "rejected"  # logged by the service; a retry would not make it trustworthy


@shared_task(name=protocol.TASK_REAP, soft_time_limit=60, time_limit=90)
def reap_lost_runs() -> int:
    return runs.runs_reap_lost()


@shared_task(name=protocol.TASK_SCHEDULE, soft_time_limit=120, time_limit=180)
def schedule_suites() -> int:
    return len(runs.runs_schedule())
