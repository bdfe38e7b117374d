"""Ingest: the one way results enter the database (agents' envelopes and offline imports).

The host is known from the envelope's key, checked with its secret, never
from the payload. Storage is idempotent: a message id is processed once, a
(run, probe) pair stored once, and the latest-result index and run counts
move in the same transaction as the result.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from probes.engine.results import SCHEMA_VERSION, Status
from probes.engine.results import ProbeResult as EngineResult

from .. import protocol
from ..models import (
    Host,
    HostState,
    Kernel,
    LatestResult,
    Probe,
    ProbeResult,
    ProbeRun,
    RunState,
    RunTrigger,
    SeenMessage,
)
from .hosts import host_heartbeat, kernel_for

log = logging.getLogger(__name__)


class Rejected(ValueError):
    """Input that was refused; nothing of it was stored. The message says why."""


def _trusted_host(envelope: Any) -> Host:
    try:
        name = protocol.host_of(envelope)
    except protocol.BadEnvelope as err:
        raise Rejected(str(err)) from None
    host = Host.objects.filter(name=name).exclude(state=HostState.RETIRED).first()
    if host is None:
        raise Rejected(f"unknown or retired host {name!r}")
    return host


def envelope_ingest(envelope: Any) -> str:
    """Verify and store one agent envelope. Returns "stored", "duplicate" or "ignored".

    Raises ``Rejected`` (logged) for anything not to be trusted.
    """
    try:
        host = _trusted_host(envelope)
        protocol.open_(envelope, host.secret, protocol.AGENT_KINDS)
    except (Rejected, protocol.BadEnvelope) as err:
        name = envelope.get("host") if isinstance(envelope, dict) else None
        log.warning("rejected envelope claiming host %r: %s", name, err)
        raise Rejected(str(err)) from None
    body, kind = envelope["body"], envelope["kind"]
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    SeenMessage.objects.create(msg_id=envelope["msg_id"], host=host)
            except IntegrityError:
                return "duplicate"
            return _HANDLERS[kind](host, body)
    except (KeyError, TypeError, ValueError) as err:
        log.warning("rejected %s from %s: %s", kind, host.name, err)
        raise Rejected(f"malformed {kind}: {err}") from None


def _heartbeat(host: Host, body: dict) -> str:
    facts = body["facts"]
    if not isinstance(facts, dict):
        raise ValueError("facts must be an object")
    host_heartbeat(host, facts)
    return "stored"


def _open_run(host: Host, body: dict) -> ProbeRun:
    run_id = body["run_id"]
    if not isinstance(run_id, int):
        raise ValueError("run_id must be an integer")
    run = ProbeRun.objects.select_for_update().filter(pk=run_id, host=host).first()
    if run is None:
        raise ValueError(f"run {run_id} is not a run of {host.name}")
    return run


def _run_started(host: Host, body: dict) -> str:
    run = _open_run(host, body)
    if run.state != RunState.QUEUED:
        return "ignored"
    run.state = RunState.RUNNING
    run.kernel = kernel_for(body["kernel_release"])
    run.started_at = timezone.now()
    run.deadline_at = run.started_at + timedelta(seconds=run.silence_seconds)
    run.save(update_fields=["state", "kernel", "started_at", "deadline_at"])
    return "stored"


def _result(host: Host, body: dict) -> str:
    run = _open_run(host, body)
    if run.state == RunState.CANCELLED:
        return "ignored"
    data = body["result"]
    if not isinstance(data, dict) or data.get("probe_id") not in run.probe_ids:
        raise ValueError("result for a probe this run did not ask for")
    kernel = kernel_for(body["kernel_release"])
    if not result_store(run, host, kernel, data):
        return "duplicate"
    return "stored"


def _run_finished(host: Host, body: dict) -> str:
    run = _open_run(host, body)
    if run.received >= run.expected and run.state in (RunState.QUEUED, RunState.RUNNING):
        _close(run)
    return "stored"


def _run_rejected(host: Host, body: dict) -> str:
    run = _open_run(host, body)
    if run.state in (RunState.QUEUED, RunState.RUNNING):
        run.state = RunState.CANCELLED
        run.finished_at = timezone.now()
        run.note = f"refused by the agent: {str(body.get('reason'))[:250]}"
        run.save(update_fields=["state", "finished_at", "note"])
    return "stored"


_HANDLERS = {
    protocol.KIND_HEARTBEAT: _heartbeat,
    protocol.KIND_RUN_STARTED: _run_started,
    protocol.KIND_RESULT: _result,
    protocol.KIND_RUN_FINISHED: _run_finished,
    protocol.KIND_RUN_REJECTED: _run_rejected,
}


def _close(run: ProbeRun) -> None:
    run.state = RunState.DONE
    run.finished_at = timezone.now()
    run.save(update_fields=["state", "finished_at"])


def result_store(run: ProbeRun, host: Host, kernel: Kernel, data: dict) -> bool:
    """Store one engine result of ``run`` (locked by the caller). False when already stored."""
    parsed = EngineResult.from_json(data)  # ValueError on an unknown status
    probe = Probe.objects.filter(pk=parsed.probe_id).first()
    if probe is None:
        raise ValueError(f"unknown probe {parsed.probe_id!r}")
    now = timezone.now()
    try:
        with transaction.atomic():
            stored = ProbeResult.objects.create(
                run=run,
                probe=probe,
                host=host,
                kernel=kernel,
                status=parsed.status.value,
                detail=parsed.detail[:2000],
                evidence=parsed.evidence,
                config=parsed.config,
                duration_ms=parsed.duration_ms,
                observed_at=now,
            )
    except IntegrityError:
        return False
    _latest_update(stored)
    run.received += 1
    run.counts[parsed.status.value] = run.counts.get(parsed.status.value, 0) + 1
    run.kernel = run.kernel or kernel
    fields = ["received", "counts", "kernel", "deadline_at"]
    run.deadline_at = now + timedelta(seconds=run.silence_seconds)
    if run.state == RunState.QUEUED:
        run.state, run.started_at = RunState.RUNNING, now
        fields += ["state", "started_at"]
    if run.received >= run.expected and run.state in (RunState.RUNNING, RunState.LOST):
        run.state, run.finished_at = RunState.DONE, now
        fields += ["state", "finished_at"]
    run.save(update_fields=fields)
    return True


def _latest_update(result: ProbeResult) -> None:
    passed = result.status == Status.PASS
    latest, created = LatestResult.objects.select_for_update().get_or_create(
        host_id=result.host_id,
        kernel_id=result.kernel_id,
        probe_id=result.probe_id,
        defaults={
            "result": result,
            "status": result.status,
            "observed_at": result.observed_at,
            "ever_passed": passed,
        },
    )
    if not created and result.observed_at >= latest.observed_at:
        latest.result, latest.status, latest.observed_at = result, result.status, result.observed_at
        latest.ever_passed = latest.ever_passed or passed
        latest.save(update_fields=["result", "status", "observed_at", "ever_passed"])


def results_import(envelope: Any) -> tuple[ProbeRun, bool]:
    """Import an offline host's signed ``run --json`` document. Returns (run, created).

    The same file twice gives the same run and adds nothing.
    """
    try:
        host = _trusted_host(envelope)
        protocol.open_(envelope, host.secret, {protocol.KIND_IMPORT}, max_skew=None)
    except (Rejected, protocol.BadEnvelope) as err:
        log.warning("rejected import: %s", err)
        raise Rejected(f"not a results file signed for an enrolled host: {err}") from None
    document = envelope["body"]
    digest = hashlib.sha256(protocol.canonical(document)).hexdigest()
    existing = ProbeRun.objects.filter(import_digest=digest).first()
    if existing is not None:
        return existing, False
    try:
        if document.get("schema") != SCHEMA_VERSION:
            raise ValueError(
                f"schema {document.get('schema')!r}; this server reads {SCHEMA_VERSION}"
            )
        kernel = kernel_for(document["facts"]["kernel"]["release"])
        results = document["results"]
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            raise ValueError("results must be a list of objects")
        ids = [r.get("probe_id") for r in results]
        if len(set(ids)) != len(ids):
            raise ValueError("a probe appears twice")
        with transaction.atomic():
            run = ProbeRun.objects.create(
                host=host,
                kernel=kernel,
                trigger=RunTrigger.IMPORT,
                state=RunState.RUNNING,
                probe_ids=ids,
                expected=len(ids),
                import_digest=digest,
                started_at=timezone.now(),
                intrusive=bool((document.get("options") or {}).get("intrusive")),
            )
            for data in results:
                result_store(run, host, kernel, data)
            if run.state != RunState.DONE:
                _close(run)
    except IntegrityError:  # the same file imported concurrently: the other one won
        return ProbeRun.objects.get(import_digest=digest), False
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise Rejected(f"malformed results file: {err}") from None
    return run, True
