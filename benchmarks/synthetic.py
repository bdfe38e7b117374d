"""The synthetic data set for benchmarks: 200 kernels x 80 probes x 50 runs = 800,000 results.

Not a test. Fills an EMPTY database (no host, kernel, run or result yet; the seed and
the catalogue are loaded here when missing) and refuses anything else:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_api \\
        .venv/bin/python benchmarks/synthetic.py        # migrates first, then loads

The shape (deterministic, same rows every time):

- the 2007 seed and the probe catalogue synced; 80 of its probes (catalogue order,
  the last one left out);
- 5 active hosts (bench-1 ... bench-5);
- 200 kernels from 2.6.24 to 6.18: the 96 mainline releases and two stable point
  releases (.5, .20) of each of the 52 newest;
- 50 done runs per kernel, round-robin over the hosts (10 per host and kernel), each of
  all 80 probes: 10,000 runs and 200 x 80 x 50 = 800,000 ProbeResult rows;
- statuses: a probe is ``unsupported`` on kernels older than its ``since``; otherwise
  mostly ``pass``, with a few probes that ``fail`` throughout, windows of a few kernels
  where a probe that passed before fails or is unsupported (regressions on newer
  kernels), cells where one host disagrees (partial: ``denied``, ``disabled`` or
  ``fail``), and sparse flakes in older runs (``error``, ``timeout``, a one-off
  ``fail``) that the newest run of a host no longer shows;
- LatestResult filled as ingest keeps it: one row per (host, kernel, probe) = 80,000,
  the newest result, ``ever_passed`` set when any run of that host and kernel passed.

Rows are written with explicit ids (the database is empty), by COPY on PostgreSQL and
bulk_create elsewhere; the id sequences are reset afterwards. ``load()`` is the function
other benchmarks call (after ``django.setup()``); it returns the seconds it took.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

KERNELS = 200
PROBES = 80
RUNS_PER_KERNEL = 50
HOSTS = 5
BATCH = 20_000
SEED = 2007


class NotEmpty(RuntimeError):
    """The database already holds probe data; the loader only fills an empty one."""


@dataclass(frozen=True)
class Loaded:
    kernels: int
    probes: int
    hosts: int
    runs: int
    results: int
    latest: int
    seconds: float


def releases() -> list[str]:
    """200 kernel releases, 2.6.24 ... 6.18, oldest first."""
    mainline = [f"2.6.{n}" for n in range(24, 40)]
    mainline += [f"3.{n}" for n in range(20)]
    mainline += [f"4.{n}" for n in range(21)]
    mainline += [f"5.{n}" for n in range(20)]
    mainline += [f"6.{n}" for n in range(19)]
    stable = [f"{v}.{point}" for v in mainline[-52:] for point in (5, 20)]
    out = mainline + stable
    assert len(out) == KERNELS, len(out)
    return out


def _ensure_empty() -> None:
    from probes.models import Host, Kernel, ProbeResult, ProbeRun

    for model in (Host, Kernel, ProbeRun, ProbeResult):
        if model.objects.exists():
            raise NotEmpty(
                f"the database already has {model._meta.verbose_name_plural}: "
                "the synthetic loader fills an empty database only"
            )


class _Truth:
    """The deterministic status of (host, kernel, probe), and of each run's flakes."""

    def __init__(self, kernel_keys: Sequence[str], probes: Sequence[Any]) -> None:
        from probes.models import version_key

        rng = random.Random(SEED)
        self.kernel_keys = kernel_keys
        self.since = [version_key(p.since) if p.since else "" for p in probes]
        count = len(probes)
        self.always_fail = set(rng.sample(range(count), 3))
        # Regressions: (probe, first kernel index, width) windows on newer kernels.
        self.windows = [
            (rng.randrange(count), rng.randrange(60, len(kernel_keys) - 5), rng.randint(1, 4))
            for _ in range(12)
        ]
        self.rng = rng

    def status(self, host: int, kernel: int, probe: int) -> str:
        """What the newest run of ``host`` on ``kernel`` says about ``probe``."""
        if self.since[probe] and self.kernel_keys[kernel] < self.since[probe]:
            return "unsupported"
        if probe in self.always_fail:
            return "fail"
        for p, first, width in self.windows:
            if p == probe and first <= kernel < first + width:
                return "fail" if (kernel + probe) % 3 else "unsupported"
        mix = (kernel * 7919 + probe * 104729) % 1000
        if mix < 15 and host == HOSTS - 1:  # one host disagrees: a partial cell
            return ("denied", "disabled", "fail")[mix % 3]
        if mix >= 995:
            return "fail"
        return "pass"

    def flake(self, run: int, probe: int, truth: str) -> str:
        """An older run's status: the truth, or now and then a flake."""
        mix = (run * 6151 + probe * 3079) % 2000
        if mix == 0:
            return "error"
        if mix == 1:
            return "timeout"
        if mix in (2, 3) and truth != "pass":
            return "pass"  # passed once on this host: ever_passed, a same-host regression
        return truth


def _rows(
    model: Any, objects: Iterable[dict[str, Any]]
) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    fields = [f for f in model._meta.concrete_fields]
    columns = [f.column for f in fields]
    names = [f.attname for f in fields]

    def tuples() -> Iterator[tuple[Any, ...]]:
        for obj in objects:
            yield tuple(obj[n] for n in names)

    return columns, tuples()


def _write(model: Any, objects: Iterable[dict[str, Any]]) -> int:
    """Insert plain dicts (every concrete field given) by COPY or bulk_create."""
    from django.db import connection

    count = 0
    if connection.vendor == "postgresql":
        columns, tuples = _rows(model, objects)
        table = connection.ops.quote_name(model._meta.db_table)
        cols = ", ".join(connection.ops.quote_name(c) for c in columns)
        json_at = [
            i
            for i, f in enumerate(model._meta.concrete_fields)
            if f.get_internal_type() == "JSONField"
        ]
        copy_sql = f"COPY {table} ({cols}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
            for row in tuples:
                if json_at:
                    row = list(row)
                    for i in json_at:
                        row[i] = json.dumps(row[i])
                copy.write_row(row)
                count += 1
        return count
    batch: list[Any] = []
    for obj in objects:
        batch.append(model(**obj))
        if len(batch) >= BATCH:
            model.objects.bulk_create(batch)
            count += len(batch)
            batch = []
    if batch:
        model.objects.bulk_create(batch)
        count += len(batch)
    return count


def _reset_sequences(models: Sequence[Any]) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    statements = connection.ops.sequence_reset_sql(no_style(), models)
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def load(*, verbose: bool = True) -> Loaded:
    """Fill the empty database with the data set; raise NotEmpty otherwise."""
    from django.db import transaction

    from probes.models import Host, HostState, Kernel, LatestResult, Probe, ProbeResult, ProbeRun
    from probes.models import version_key as key_of
    from probes.services.catalogue import catalogue_sync
    from roadmap.services.seed import seed_load

    started = time.perf_counter()

    def say(text: str) -> None:
        if verbose:
            print(f"[{time.perf_counter() - started:7.1f}s] {text}", flush=True)

    _ensure_empty()
    with transaction.atomic():
        seed_load()
        catalogue_sync()
        probes = list(Probe.objects.filter(in_catalogue=True).order_by("position")[:PROBES])
        if len(probes) < PROBES:
            raise RuntimeError(f"the catalogue has {len(probes)} probes, {PROBES} needed")
        names = releases()
        Kernel.objects.bulk_create([Kernel(release=r, version_key=key_of(r)) for r in names])
        kernels = list(Kernel.objects.filter(release__in=names))
        kernels.sort(key=lambda k: (k.version_key, k.release))
        hosts = [
            Host.objects.create(name=f"bench-{n + 1}", state=HostState.ACTIVE) for n in range(HOSTS)
        ]
        Host.objects.filter(pk__in=[h.pk for h in hosts]).update(kernel=kernels[-1])
        say(f"seed, catalogue, {len(kernels)} kernels and {len(hosts)} hosts")

        truth = _Truth([k.version_key for k in kernels], probes)
        # Kernels were tested in release order, one run every minute, ending an hour ago.
        total_runs = KERNELS * RUNS_PER_KERNEL
        start = datetime.now(UTC) - timedelta(minutes=total_runs + 60)
        runs: list[dict[str, Any]] = []
        probe_ids = [p.id for p in probes]
        latest: dict[tuple[int, int, int], list[Any]] = {}

        def results() -> Iterator[dict[str, Any]]:
            result_id = 0
            run_id = 0
            for k_index, kernel in enumerate(kernels):
                for r in range(RUNS_PER_KERNEL):
                    run_id += 1
                    h_index = r % HOSTS
                    host = hosts[h_index]
                    newest = r >= RUNS_PER_KERNEL - HOSTS  # this host's last run on the kernel
                    at = start + timedelta(minutes=run_id)
                    counts: dict[str, int] = {}
                    for p_index, probe_id in enumerate(probe_ids):
                        result_id += 1
                        status = truth.status(h_index, k_index, p_index)
                        if not newest:
                            status = truth.flake(run_id, p_index, status)
                        counts[status] = counts.get(status, 0) + 1
                        observed = at + timedelta(milliseconds=50 * p_index)
                        entry = latest.setdefault((h_index, k_index, p_index), [0, "", at, False])
                        entry[0], entry[1], entry[2] = result_id, status, observed
                        entry[3] = entry[3] or status == "pass"
                        yield {
                            "id": result_id,
                            "run_id": run_id,
                            "probe_id": probe_id,
                            "host_id": host.pk,
                            "kernel_id": kernel.pk,
                            "status": status,
                            "detail": "synthetic",
                            "evidence": {},
                            "config": {},
                            "duration_ms": 1.0 + (p_index % 7),
                            "observed_at": observed,
                        }
                    runs.append(
                        {
                            "id": run_id,
                            "host_id": host.pk,
                            "kernel_id": kernel.pk,
                            "trigger": "schedule",
                            "requested_by_id": None,
                            "state": "done",
                            "probe_ids": probe_ids,
                            "intrusive": False,
                            "expected": len(probe_ids),
                            "received": len(probe_ids),
                            "counts": counts,
                            "note": "",
                            "import_digest": None,
                            "created_at": at,
                            "started_at": at,
                            "finished_at": at + timedelta(seconds=5),
                            "deadline_at": None,
                            "silence_seconds": 60.0,
                        }
                    )

        # Foreign keys are checked at commit (Django makes them deferrable), so the results
        # stream out first and fill ``runs`` and ``latest`` on the way; nothing is held.
        written = _write(ProbeResult, results())
        say(f"wrote {written:,} results")
        _write(ProbeRun, runs)
        say(f"wrote {len(runs):,} runs")
        latest_rows = (
            {
                "id": n + 1,
                "host_id": hosts[h].pk,
                "kernel_id": kernels[k].pk,
                "probe_id": probe_ids[p],
                "result_id": rid,
                "status": status,
                "observed_at": observed,
                "ever_passed": ever,
            }
            for n, ((h, k, p), (rid, status, observed, ever)) in enumerate(latest.items())
        )
        latest_count = _write(LatestResult, latest_rows)
        say(f"wrote {latest_count:,} latest results")
        _reset_sequences([ProbeRun, ProbeResult, LatestResult])
    say("committed")
    _analyze()
    seconds = time.perf_counter() - started
    say(f"loaded in {seconds:.1f}s")
    return Loaded(
        len(kernels), len(probe_ids), len(hosts), len(runs), written, latest_count, seconds
    )


def _analyze() -> None:
    """Fresh planner statistics, as autovacuum would give them a little later."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def django_setup() -> None:
    """Production settings (DEBUG off) on plain HTTP over loopback, with a throwaway key."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "roadmap.settings")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    import django

    django.setup()


def main(argv: Sequence[str] | None = None) -> int:
    django_setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    try:
        loaded = load()
    except NotEmpty as err:
        print(f"refused: {err}", file=sys.stderr)
        return 2
    print(
        f"{loaded.results:,} results ({loaded.kernels} kernels x {loaded.probes} probes x "
        f"{RUNS_PER_KERNEL} runs), {loaded.runs:,} runs, {loaded.latest:,} latest rows, "
        f"{loaded.hosts} hosts: {loaded.seconds:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
