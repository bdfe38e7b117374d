"""Benchmark: ingest throughput and dispatch-to-last-result, through the real broker.

Not a test. Run as root from the repository root, with Redis running:

    .venv/bin/python benchmarks/bench_agents.py [--agents 50] [--concurrency 2]

It uses a fresh database of its own (SQLite under a temporary folder unless
--database-url names another, e.g. an empty PostgreSQL database) and a Redis
database of its own (--broker, flushed). Two figures:

1. Ingest throughput: a replay mode records one real run of the default
   catalogue on this host, then replays it as many simulated agents, each with
   its own enrolled host, run and secret: every result is sealed (HMAC) up
   front, then all are published to the ``central`` queue at once, and the
   real central worker ingests them. Results per second = results / (time the
   last one was stored - time the first was published). Target: 2,000/s.
2. Dispatch to last result: one real agent on this host runs the whole
   default catalogue; from ``run_dispatch`` to the run's ``done``, median of
   --runs. Target: under 3 s.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=50, help="simulated agents to replay")
    parser.add_argument("--concurrency", type=int, default=2, help="central worker processes")
    parser.add_argument("--runs", type=int, default=5, help="dispatch-to-last-result repeats")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/11")
    parser.add_argument("--database-url", default=None)
    return parser.parse_args()


def wait_for(predicate, timeout: float, what: str):  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise SystemExit(f"timed out waiting for {what} (worker logs in the var folder)")


def main() -> None:
    args = parse()
    # Stopped (Ctrl-C, timeout): still stop the workers in ``finally``, or they
    # would keep consuming the benchmark's queue.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    var = Path(tempfile.mkdtemp(prefix="bench-agents-"))
    env = {
        **os.environ,
        "DEBUG": "true",
        "ROADMAP_VAR_DIR": str(var),
        "CELERY_BROKER_URL": args.broker,
        "DATABASE_URL": args.database_url or f"sqlite:///{var}/bench.sqlite3",
        "DJANGO_SETTINGS_MODULE": "roadmap.settings",
        "LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    import django

    django.setup()
    import redis
    from django.core.management import call_command

    from probes import protocol
    from probes.models import Host, ProbeResult, ProbeRun
    from probes.services import hosts, runs
    from roadmap.celery import app

    redis.Redis.from_url(args.broker).flushdb()
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)  # a database of its own: start empty
    call_command("load_seed", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    call_command("sync_catalogue", stdout=open(os.devnull, "w"))  # noqa: SIM115

    procs: list[subprocess.Popen] = []

    def start(argv: list[str], extra: dict[str, str] | None = None) -> subprocess.Popen:
        log = open(var / f"worker-{len(procs)}.log", "w")  # noqa: SIM115 - lives with the process
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**env, **(extra or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        procs.append(proc)
        return proc

    pool = "solo" if args.concurrency == 1 else "prefork"
    central_argv = [sys.executable, "-m", "celery", "-A", "roadmap.celery", "worker"]
    central_argv += ["-Q", "central", "--pool", pool, "--concurrency", str(args.concurrency)]
    central_argv += ["--without-mingle", "--without-gossip", "--loglevel", "warning"]

    def replay_set(prefix: str, results: list[dict], release: str) -> list[dict]:
        """Enroll ``--agents`` hosts, a run each, and seal every result for it."""
        envelopes = []
        for n in range(args.agents):
            host = hosts.host_enroll(f"{prefix}-{n}")
            run = ProbeRun.objects.create(
                host=host,
                trigger="api",
                expected=len(results),
                probe_ids=[r["probe_id"] for r in results],
                silence_seconds=600,
            )
            for result in results:
                body = {"run_id": run.pk, "kernel_release": release, "result": result}
                envelopes.append(protocol.seal(host.name, protocol.KIND_RESULT, body, host.secret))
        return envelopes

    def publish(envelopes: list[dict]) -> float:
        with app.producer_or_acquire() as producer:
            started = time.monotonic()
            for envelope in envelopes:
                app.send_task(
                    protocol.TASK_INGEST,
                    args=[envelope],
                    queue=protocol.CENTRAL_QUEUE,
                    producer=producer,
                )
            return time.monotonic() - started

    try:
        central = start(central_argv)
        # Record one real run of the default catalogue on this host.
        recorded = subprocess.run(
            [sys.executable, "-m", "probes.engine", "run", "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        document = json.loads(recorded.stdout)
        results, release = document["results"], document["facts"]["kernel"]["release"]
        envelopes = replay_set("live", results, release)
        total = len(envelopes)
        warm = hosts.host_enroll("warmup")  # worker imports and connections, before timing
        beat = {"facts": {"kernel": {"release": release}}}
        publish([protocol.seal("warmup", protocol.KIND_HEARTBEAT, beat, warm.secret)])
        wait_for(lambda: Host.objects.filter(name="warmup", state="active").exists(), 60, "warm-up")

        # a. Live: the worker stores while one process publishes as fast as it can.
        started = time.monotonic()
        published = publish(envelopes)
        wait_for(lambda: ProbeResult.objects.count() >= total, 600, "every replayed result")
        elapsed = time.monotonic() - started
        done = ProbeRun.objects.filter(host__name__startswith="live-", state="done").count()
        print(
            f"ingest: {args.agents} simulated agents x {len(results)} results, central worker "
            f"{pool} x{args.concurrency}, database {env['DATABASE_URL'].split(':')[0]}"
        )
        print(
            f"  live: {total} published in {published:.2f} s ({total / published:,.0f}/s), "
            f"all stored after {elapsed:.2f} s: {total / elapsed:,.0f} results/s; "
            f"runs done {done}/{args.agents}"
        )

        # b. Drain: the same load queued while the worker is stopped, then stored;
        # timed from the first result stored to the last (the worker's own rate).
        os.killpg(central.pid, signal.SIGTERM)
        central.wait(30)
        backlog = replay_set("drain", results, release)
        publish(backlog)
        before = ProbeResult.objects.count()
        start(central_argv)
        wait_for(lambda: ProbeResult.objects.count() > before, 120, "the first drained result")
        first = time.monotonic()
        wait_for(lambda: ProbeResult.objects.count() >= before + len(backlog), 600, "the backlog")
        drained = time.monotonic() - first
        print(
            f"  drain: {len(backlog)} queued results stored in {drained:.2f} s: "
            f"{len(backlog) / drained:,.0f} results/s (target 2,000/s)"
        )

        # 2. One real agent, the whole default catalogue, dispatch to done.
        local = hosts.host_enroll("bench-local")
        agent_env = {"AGENT_HOST": local.name, "AGENT_SECRET": local.secret}
        agent_env["AGENT_BROKER_URL"] = args.broker
        start([sys.executable, "-m", "probes.agent", "worker", "--loglevel", "warning"], agent_env)
        wait_for(
            lambda: Host.objects.filter(name=local.name, state="active").exists(),
            60,
            "the agent's heartbeat",
        )
        times = []
        for _ in range(args.runs):
            t0 = time.monotonic()
            run = runs.run_dispatch(local)
            wait_for(
                lambda run=run: ProbeRun.objects.filter(pk=run.pk, state="done").exists(),
                120,
                "the run",
            )
            times.append(time.monotonic() - t0)
        print(
            f"dispatch to last result stored, {run.expected} probes, one real agent: "
            f"median {statistics.median(times):.2f} s (min {min(times):.2f}, "
            f"max {max(times):.2f}, n={len(times)}; target < 3 s)"
        )
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(30)
        redis.Redis.from_url(args.broker).flushdb()


if __name__ == "__main__":
    main()
