"""Central tasks (queue ``central``): thin wrappers over the services.

Names come from ``probes.protocol``: they are a wire protocol with the agents.
"""

from __future__ import annotations

from celery import shared_task
from celery_batches import Batches

from . import protocol
from .services import ingest, runs

# Agents send one envelope per message, as each probe finishes. The worker hands
# them over in batches (up to 200, or whatever arrived within 50 ms), so storing
# costs a fixed number of queries per batch, not per result. Every limit stays
# well inside protocol.VISIBILITY_TIMEOUT.
INGEST_BATCH = {"flush_every": 200, "flush_interval": 0.05}


class ReconnectingBatches(Batches):
    """Batches whose flush timer survives a broker reconnect.

    After a reconnect the worker builds a new consumer (with a new timer) and asks
    for the strategy again; celery-batches keeps the old, dead timer handle and so
    never flushes again below ``flush_every``. Forgetting it starts a new one.
    """

    def Strategy(self, task, app, consumer):  # noqa: ANN001,ANN201,N802 - Celery's hook
        self._tref = None
        return super().Strategy(task, app, consumer)


@shared_task(
    name=protocol.TASK_INGEST,
    base=ReconnectingBatches,
    # Acknowledged after the batch is stored: a worker lost mid-batch gets its
    # messages redelivered, and storing them again is idempotent.
    acks_late=True,
    soft_time_limit=60,
    time_limit=90,
    **INGEST_BATCH,
)
def ingest_envelopes(requests) -> None:  # noqa: ANN001 - celery_batches.SimpleRequest list
    """Rejections are logged by the service and final. If the database is away the
    batch raises, stays unacknowledged, and the broker delivers it again."""
    ingest.envelopes_ingest([request.args[0] if request.args else None for request in requests])


@shared_task(name=protocol.TASK_REAP, soft_time_limit=60, time_limit=90)
def reap_lost_runs() -> int:
    return runs.runs_reap_lost()


@shared_task(name=protocol.TASK_SCHEDULE, soft_time_limit=120, time_limit=180)
def schedule_suites() -> int:
    return len(runs.runs_schedule())
