"""Ingest: the one way results enter the database (agents' envelopes and offline imports).

The host is known from the envelope's key, checked with its secret, never
from the payload. Storage is idempotent: a (run, probe) pair is stored once
and any other envelope's message id is processed once. Results arrive in
batches (the central worker hands over up to a few hundred at a time) and
are stored with a fixed number of queries per batch: runs locked, existing
pairs read, results inserted, the latest-result index upserted, runs saved.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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
from .hosts import host_heartbeat, kernel_for, release_checked

log = logging.getLogger(__name__)

MAX_EVIDENCE_BYTES = 64 * 1024


class Rejected(ValueError):
    """Input that was refused; nothing of it was stored. The message says why."""


Outcome = str | Rejected  # "stored", "duplicate", "ignored", or why it was refused


def envelope_ingest(envelope: Any) -> str:
    """Verify and store one agent envelope. Returns "stored", "duplicate" or "ignored".

    Raises ``Rejected`` (logged) for anything not to be trusted.
    """
    (outcome,) = envelopes_ingest([envelope])
    if isinstance(outcome, Rejected):
        raise outcome
    return outcome


def envelopes_ingest(envelopes: Sequence[Any]) -> list[Outcome]:
    """Verify and store a batch of agent envelopes; one outcome per envelope, in order."""
    outcomes: list[Outcome] = ["ignored"] * len(envelopes)
    hosts: dict[str, Host | None] = {}
    results: list[_Incoming] = []
    for index, envelope in enumerate(envelopes):
        try:
            host = _verified(envelope, hosts)
        except Rejected as err:
            outcomes[index] = err
            continue
        body, kind = envelope["body"], envelope["kind"]
        if kind == protocol.KIND_RESULT:
            try:
                results.append(_Incoming.from_body(index, host, body))
            except (KeyError, TypeError, ValueError) as err:
                outcomes[index] = _rejected(f"malformed result from {host.name}: {err}")
            continue
        outcomes[index] = _other(host, envelope)
    if results:
        _store(results, outcomes)
    return outcomes


def _rejected(reason: str) -> Rejected:
    log.warning("rejected: %s", reason)
    return Rejected(reason)


def _verified(
    envelope: Any,
    hosts: dict[str, Host | None] | None = None,
    *,
    kinds: frozenset[str] = protocol.AGENT_KINDS,
    max_skew: float | None = protocol.MAX_SKEW_SECONDS,
) -> Host:
    """The enrolled host whose secret signed ``envelope`` (``hosts`` caches lookups)."""
    hosts = {} if hosts is None else hosts
    try:
        name = protocol.host_of(envelope)
    except protocol.BadEnvelope as err:
        raise _rejected(f"envelope: {err}") from None
    if name not in hosts:
        hosts[name] = Host.objects.filter(name=name).exclude(state=HostState.RETIRED).first()
    host = hosts[name]
    if host is None:
        raise _rejected(f"envelope claiming unknown or retired host {name!r}")
    try:
        protocol.open_(envelope, host.secret, kinds, max_skew=max_skew)
    except protocol.BadEnvelope as err:
        raise _rejected(f"envelope claiming host {name!r}: {err}") from None
    return host


def _other(host: Host, envelope: dict) -> Outcome:
    """Heartbeats and run notices: each processed once, by message id."""
    kind = envelope["kind"]
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    SeenMessage.objects.create(msg_id=envelope["msg_id"], host=host)
            except IntegrityError:
                return "duplicate"
            return _HANDLERS[kind](host, envelope["body"])
    except (KeyError, TypeError, ValueError) as err:
        return _rejected(f"malformed {kind} from {host.name}: {err}")


def _heartbeat(host: Host, body: dict) -> str:
    facts = body["facts"]
    if not isinstance(facts, dict):
        raise ValueError("facts must be an object")
    host_heartbeat(host, facts)
    return "stored"


def _locked_run(host: Host, body: dict) -> ProbeRun:
    run_id = body["run_id"]
    if not isinstance(run_id, int):
        raise ValueError("run_id must be an integer")
    run = ProbeRun.objects.select_for_update().filter(pk=run_id, host=host).first()
    if run is None:
        raise ValueError(f"run {run_id} is not a run of {host.name}")
    return run


def _run_started(host: Host, body: dict) -> str:
    run = _locked_run(host, body)
    if run.state != RunState.QUEUED:
        return "ignored"
    run.state = RunState.RUNNING
    run.kernel = kernel_for(body["kernel_release"])
    run.started_at = timezone.now()
    run.deadline_at = run.started_at + timedelta(seconds=run.silence_seconds)
    run.save(update_fields=["state", "kernel", "started_at", "deadline_at"])
    return "stored"


def _run_finished(host: Host, body: dict) -> str:
    run = _locked_run(host, body)
    if run.received >= run.expected and run.state in (RunState.QUEUED, RunState.RUNNING):
        run.state, run.finished_at = RunState.DONE, timezone.now()
        run.save(update_fields=["state", "finished_at"])
    return "stored"


def _run_rejected(host: Host, body: dict) -> str:
    run = _locked_run(host, body)
    if run.state in (RunState.QUEUED, RunState.RUNNING):
        run.state = RunState.CANCELLED
        run.finished_at = timezone.now()
        run.note = f"refused by the agent: {str(body.get('reason'))[:250]}"
        run.save(update_fields=["state", "finished_at", "note"])
    return "stored"


_HANDLERS = {
    protocol.KIND_HEARTBEAT: _heartbeat,
    protocol.KIND_RUN_STARTED: _run_started,
    protocol.KIND_RUN_FINISHED: _run_finished,
    protocol.KIND_RUN_REJECTED: _run_rejected,
}


def _storable(value: Any) -> Any:
    """JSON as PostgreSQL stores it: no NUL characters in any string or key."""
    if isinstance(value, str):
        return value.replace("\0", "\\0")
    if isinstance(value, dict):
        return {_storable(str(k)): _storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v) for v in value]
    return value


@dataclass
class _Incoming:
    """One result on its way in, checked for shape (not yet against its run)."""

    index: int
    host: Host
    run_id: int
    release: str
    result: EngineResult

    @classmethod
    def from_body(cls, index: int, host: Host, body: dict) -> _Incoming:
        if not isinstance(body.get("run_id"), int):
            raise ValueError("run_id must be an integer")
        release = release_checked(body["kernel_release"])
        data = body["result"]
        if not isinstance(data, dict):
            raise ValueError("result must be an object")
        result = EngineResult.from_json(_storable(data))  # ValueError on an unknown status
        if len(protocol.canonical(result.evidence)) > MAX_EVIDENCE_BYTES:
            result.evidence = {"truncated": f"evidence over {MAX_EVIDENCE_BYTES} bytes dropped"}
        result.detail = result.detail[:2000]
        return cls(index, host, body["run_id"], release, result)


_PROBES: dict[str, Probe] = {}  # the catalogue changes only with a deploy


def _probe(probe_id: str) -> Probe | None:
    if probe_id not in _PROBES:
        probe = Probe.objects.filter(pk=probe_id).first()
        if probe is None:
            return None
        _PROBES[probe_id] = probe
    return _PROBES[probe_id]


@transaction.atomic
def _store(incoming: list[_Incoming], outcomes: list[Outcome]) -> None:
    now = timezone.now()
    # Locking in id order: two workers storing for the same runs never deadlock.
    runs = {
        r.pk: r
        for r in ProbeRun.objects.select_for_update()
        .filter(pk__in={i.run_id for i in incoming})
        .order_by("pk")
    }
    stored = set(ProbeResult.objects.filter(run_id__in=runs).values_list("run_id", "probe_id"))
    kernels: dict[str, Kernel] = {}
    rows: list[ProbeResult] = []
    touched: dict[int, ProbeRun] = {}
    for item in incoming:
        run = runs.get(item.run_id)
        probe_id = item.result.probe_id
        if run is None or run.host_id != item.host.pk:
            outcomes[item.index] = _rejected(
                f"{item.host.name} sent a result for a run not its own"
            )
            continue
        if probe_id not in run.probe_ids or _probe(probe_id) is None:
            outcomes[item.index] = _rejected(f"result for {probe_id!r}, not asked of run {run.pk}")
            continue
        if run.state == RunState.CANCELLED:
            outcomes[item.index] = "ignored"
            continue
        if (run.pk, probe_id) in stored:
            outcomes[item.index] = "duplicate"
            continue
        stored.add((run.pk, probe_id))
        if item.release not in kernels:
            kernels[item.release] = kernel_for(item.release)
        rows.append(
            ProbeResult(
                run=run,
                probe_id=probe_id,
                host_id=run.host_id,
                kernel=kernels[item.release],
                status=item.result.status.value,
                detail=item.result.detail,
                evidence=item.result.evidence,
                config=item.result.config,
                duration_ms=item.result.duration_ms,
                observed_at=now,
            )
        )
        _count(run, item.result.status, kernels[item.release], now)
        touched[run.pk] = run
        outcomes[item.index] = "stored"
    ProbeResult.objects.bulk_create(rows)
    _latest_upsert(rows)
    for run in touched.values():
        run.save(
            update_fields=[
                "received",
                "counts",
                "kernel",
                "deadline_at",
                "state",
                "started_at",
                "finished_at",
            ]
        )


def _count(run: ProbeRun, status: Status, kernel: Kernel, now) -> None:  # noqa: ANN001
    run.received += 1
    run.counts[status.value] = run.counts.get(status.value, 0) + 1
    run.kernel = run.kernel or kernel
    run.deadline_at = now + timedelta(seconds=run.silence_seconds)
    if run.state == RunState.QUEUED:
        run.state, run.started_at = RunState.RUNNING, now
    if run.received >= run.expected and run.state in (RunState.RUNNING, RunState.LOST):
        run.state, run.finished_at = RunState.DONE, now


def _latest_upsert(rows: Iterable[ProbeResult]) -> None:
    """One upsert per batch: the newest result per (host, kernel, probe) wins; a pass
    also sets ``ever_passed``, which nothing ever clears (regressions need it)."""
    newest: dict[tuple[int, int, str], ProbeResult] = {}
    for row in rows:  # in arrival order: the last one per key is the newest
        newest[(row.host_id, row.kernel_id, row.probe_id)] = row
    entries = [
        LatestResult(
            host_id=r.host_id,
            kernel_id=r.kernel_id,
            probe_id=r.probe_id,
            result=r,
            status=r.status,
            observed_at=r.observed_at,
            ever_passed=r.status == Status.PASS,
        )
        for r in newest.values()
    ]
    passes = [e for e in entries if e.ever_passed]
    others = [e for e in entries if not e.ever_passed]
    common = {"update_conflicts": True, "unique_fields": ["host", "kernel", "probe"]}
    fields = ["result", "status", "observed_at"]
    if passes:
        LatestResult.objects.bulk_create(passes, update_fields=[*fields, "ever_passed"], **common)
    if others:
        LatestResult.objects.bulk_create(others, update_fields=fields, **common)


def results_import(envelope: Any) -> tuple[ProbeRun, bool]:
    """Import an offline host's signed ``run --json`` document. Returns (run, created).

    The same file twice gives the same run and adds nothing.
    """
    try:
        # An offline file is old by nature: no freshness check; its digest makes it idempotent.
        host = _verified(envelope, kinds=frozenset({protocol.KIND_IMPORT}), max_skew=None)
    except Rejected as err:  # logged by _verified
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
        release = document["facts"]["kernel"]["release"]
        kernel = kernel_for(release)
        results = document["results"]
        if not isinstance(results, list) or not all(isinstance(r, dict) for r in results):
            raise ValueError("results must be a list of objects")
        ids = [r.get("probe_id") for r in results]
        if len(set(ids)) != len(ids):
            raise ValueError("a probe appears twice")
        unknown = [i for i in ids if not isinstance(i, str) or _probe(i) is None]
        if unknown:
            raise ValueError(f"unknown probe {unknown[0]!r}")
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
            body = {"run_id": run.pk, "kernel_release": release}
            incoming = [
                _Incoming.from_body(n, host, {**body, "result": data})
                for n, data in enumerate(results)
            ]
            outcomes: list[Outcome] = ["ignored"] * len(incoming)
            _store(incoming, outcomes)
            refused = [o for o in outcomes if isinstance(o, Rejected)]
            if refused:
                raise ValueError(str(refused[0]))
            run.refresh_from_db()
            if run.state != RunState.DONE:  # an empty file
                run.state, run.finished_at = RunState.DONE, timezone.now()
                run.save(update_fields=["state", "finished_at"])
    except IntegrityError:  # the same file imported concurrently: the other one won
        return ProbeRun.objects.get(import_digest=digest), False
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise Rejected(f"malformed results file: {err}") from None
    return run, True
