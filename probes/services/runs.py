"""Starting, cancelling, scheduling and reaping probe runs.

The pages, the API, ``manage.py run_probes`` and the beat schedule all call
``run_dispatch``; the reaper is the only thing that declares a run lost.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from probes.engine import catalogue

from .. import protocol
from ..models import OPEN_RUN_STATES, Host, HostState, ProbeRun, RunState, RunTrigger

log = logging.getLogger(__name__)


class RunError(ValueError):
    """A run that cannot be started or changed; the message is for the person who asked."""


def run_silence_allowed(probe_timeouts: Iterable[float]) -> float:
    """Seconds a run may go without news before it is lost: the agent kills any probe
    at its own deadline, so a live agent always reports within the longest one."""
    return settings.RUN_GRACE_SECONDS + max(probe_timeouts, default=0)


def run_dispatch(
    host: Host,
    *,
    only: Iterable[str] = (),
    intrusive: bool = False,
    trigger: str = RunTrigger.MANUAL,
    user: AbstractBaseUser | None = None,
) -> ProbeRun:
    """Queue a run of the selected catalogue probes on ``host`` and send it, signed."""
    if host.state == HostState.RETIRED:
        raise RunError(f"host {host.name} is retired")
    if intrusive and not host.allow_intrusive:
        raise RunError(f"intrusive probes are not allowed on {host.name}")
    catalogue.load()
    try:
        chosen = catalogue.select(list(only), intrusive=intrusive)
    except catalogue.UnknownProbe as err:
        raise RunError(str(err)) from None
    if not chosen:
        raise RunError("the selection holds no probe (intrusive ones need the intrusive switch)")
    silence = run_silence_allowed(p.timeout for p in chosen)
    with transaction.atomic():
        run = ProbeRun.objects.create(
            host=host,
            trigger=trigger,
            requested_by=user if user is not None and user.is_authenticated else None,
            probe_ids=[p.id for p in chosen],
            intrusive=intrusive,
            expected=len(chosen),
            silence_seconds=silence,
            deadline_at=timezone.now() + timedelta(seconds=silence),
        )
        envelope = protocol.seal(
            host.name,
            protocol.KIND_DISPATCH,
            {"run_id": run.pk, "probe_ids": run.probe_ids, "intrusive": intrusive},
            host.secret,
        )
        transaction.on_commit(lambda: _send(host.name, envelope))
    log.info("run %s queued on %s: %d probes", run.pk, host.name, run.expected)
    return run


def _send(host_name: str, envelope: dict) -> None:
    from roadmap.celery import app

    app.send_task(protocol.TASK_RUN_SUITE, args=[envelope], queue=protocol.host_queue(host_name))


def run_cancel(run: ProbeRun, user: AbstractBaseUser | None = None) -> ProbeRun:
    now = timezone.now()
    changed = ProbeRun.objects.filter(pk=run.pk, state__in=OPEN_RUN_STATES).update(
        state=RunState.CANCELLED, finished_at=now, note=f"cancelled by {user or 'the system'}"
    )
    if changed != 1:
        run.refresh_from_db()
        raise RunError(f"run {run.pk} is already {run.get_state_display().lower()}")
    run.refresh_from_db()
    return run


def runs_reap_lost(now=None) -> int:  # noqa: ANN001 - an aware datetime
    """Mark runs lost whose host went silent past their deadline; returns how many.

    A running run is lost when no news came within its allowed silence. A queued
    run may wait behind another run on a live agent, so it is lost only when its
    host's heartbeats stopped too.
    """
    now = now or timezone.now()
    host_silent = Q(host__last_seen_at__isnull=True) | Q(
        host__last_seen_at__lt=now - timedelta(seconds=settings.HOST_SILENT_SECONDS)
    )
    overdue = ProbeRun.objects.filter(deadline_at__lt=now).filter(
        Q(state=RunState.RUNNING) | (Q(state=RunState.QUEUED) & host_silent)
    )
    lost = overdue.update(
        state=RunState.LOST, finished_at=now, note="the host went silent past the run's deadline"
    )
    if lost:
        log.warning("%d run(s) marked lost", lost)
    return lost


def runs_schedule() -> list[ProbeRun]:
    """The periodic full suite on every active host (intrusive ones where allowed)."""
    runs = []
    for host in Host.objects.filter(state=HostState.ACTIVE):
        if ProbeRun.objects.filter(host=host, state__in=OPEN_RUN_STATES).exists():
            continue  # never pile runs up behind a slow or silent host
        runs.append(run_dispatch(host, intrusive=host.allow_intrusive, trigger=RunTrigger.SCHEDULE))
    return runs
