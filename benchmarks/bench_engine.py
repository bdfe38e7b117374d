"""Benchmark: wall time of the default probe suite, against the tools that do part of its job.

Not a test. Run as root from the repository root:

    .venv/bin/python benchmarks/bench_engine.py [--runs 5]

It times ``python -m probes.engine run --json`` as a user would start it
(interpreter start, imports, host facts, every default probe, janitor)
with ``--jobs 1`` and with the CPU count, median of ``--runs`` each; lists
the slowest probes; and in the same session times ``criu check --all``
(where criu exists) and util-linux ``unshare --fork --pid --mount-proc
--net --uts --ipc true`` (the namespace part), as ratios. The target is the
default suite in under 1 s wall on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 1.0
UNSHARE = ("unshare", "--fork", "--pid", "--mount-proc", "--net", "--uts", "--ipc", "true")


def timed(
    argv: list[str], runs: int, env: dict[str, str] | None = None
) -> tuple[float, list[subprocess.CompletedProcess[str]]]:
    """Median wall seconds of ``runs`` executions, and what each printed."""
    walls, done = [], []
    for _ in range(runs):
        started = time.perf_counter()
        done.append(subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env))
        walls.append(time.perf_counter() - started)
    return statistics.median(walls), done


def engine(
    jobs: int, runs: int, env: dict[str, str] | None = None
) -> tuple[float, list[dict[str, Any]]]:
    argv = [sys.executable, "-m", "probes.engine", "run", "--json", "--jobs", str(jobs)]
    wall, done = timed(argv, runs, env)
    documents = []
    for proc in done:
        if proc.returncode != 0:
            raise SystemExit(f"engine run failed ({proc.returncode}): {proc.stderr.strip()}")
        documents.append(json.loads(proc.stdout))
    return wall, documents


def tool(argv: tuple[str, ...], runs: int) -> tuple[float | None, str]:
    """Median wall of an external tool; (None, reason) when it is absent."""
    path = shutil.which(argv[0]) or shutil.which(argv[0], path="/usr/sbin:/sbin")
    if path is None:
        return None, "absent"
    wall, done = timed([path, *argv[1:]], runs)
    codes = sorted({p.returncode for p in done})
    if codes == [0]:
        return wall, "ok"
    last_line = (done[-1].stderr.strip().splitlines() or [""])[-1]
    return wall, f"exit status {codes}: {last_line[:90]}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median)")
    parser.add_argument("--slowest", type=int, default=10, help="how many slow probes to list")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("note: not root; root-only probes report denied and finish fast", file=sys.stderr)
    cpus = os.cpu_count() or 1

    # As installed, Python reads cached bytecode. This environment may forbid writing it
    # (PYTHONDONTWRITEBYTECODE), so the main figures use a throwaway cache outside the tree,
    # warmed by one untimed run.
    cache = tempfile.mkdtemp(prefix="bench_engine_pycache_")
    warm = {**os.environ, "PYTHONPYCACHEPREFIX": cache}
    warm.pop("PYTHONDONTWRITEBYTECODE", None)
    # Cold: as this environment starts it, project modules compiled at every start.
    cold = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    cold.pop("PYTHONPYCACHEPREFIX", None)
    try:
        python_start, _ = timed([sys.executable, "-c", "pass"], args.runs, warm)
        engine(cpus, 1, warm)
        sequential, seq_docs = engine(1, args.runs, warm)
        parallel, par_docs = engine(cpus, args.runs, warm)
        parallel_cold, _ = engine(cpus, args.runs, cold)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    unshare_wall, unshare_state = tool(UNSHARE, args.runs)
    criu_wall, criu_state = tool(("criu", "check", "--all"), args.runs)

    per_probe: dict[str, list[float]] = defaultdict(list)
    for document in seq_docs:  # --jobs 1: durations not inflated by a neighbour
        for result in document["results"]:
            per_probe[result["probe_id"]].append(result["duration_ms"])
    medians = {pid: statistics.median(ms) for pid, ms in per_probe.items()}
    last = par_docs[-1]
    statuses: dict[str, int] = defaultdict(int)
    for result in last["results"]:
        statuses[result["status"]] += 1
    namespace_ms = sum(ms for pid, ms in medians.items() if pid.startswith("ns."))
    in_runs = [d["duration_ms"] / 1000 for d in par_docs]

    facts = last["facts"]
    print(
        f"host: {facts['kernel']['release']} {facts['architecture']}, {cpus} CPUs, "
        f"cgroup layout {facts['cgroups']['layout']}, "
        f"{'root' if facts['privilege']['root'] else 'not root'}"
    )
    print(
        f"default suite: {len(last['results'])} probes "
        f"({', '.join(f'{n} {s}' for s, n in sorted(statuses.items()))}); "
        f"janitor findings: {len(last['janitor'])}"
    )
    print(f"median of {args.runs} runs, wall time including interpreter start:")
    print(f"  python -c pass                       {python_start * 1000:8.1f} ms")
    print(f"  probes.engine run --json --jobs 1    {sequential * 1000:8.1f} ms")
    print(
        f"  probes.engine run --json --jobs {cpus:<3d}  {parallel * 1000:8.1f} ms"
        f"   (inside the runner: {statistics.median(in_runs) * 1000:.1f} ms; "
        f"speed-up {sequential / parallel:.2f}x)"
    )
    print(f"  same, modules compiled at each start {parallel_cold * 1000:8.1f} ms")
    verdict = "met" if parallel < TARGET_SECONDS else "MISSED"
    print(f"  target: under {TARGET_SECONDS:.0f} s with --jobs {cpus}: {verdict}")
    print("slowest probes (median duration, --jobs 1):")
    for pid, ms in sorted(medians.items(), key=lambda kv: -kv[1])[: args.slowest]:
        print(f"  {pid:<38} {ms:8.1f} ms")
    print("external tools, same session:")
    if unshare_wall is None:
        print("  unshare(1): absent")
    else:
        print(f"  {' '.join(UNSHARE):<60} {unshare_wall * 1000:8.1f} ms  {unshare_state}")
        print(f"    ratio engine suite (--jobs {cpus}) / unshare:  {parallel / unshare_wall:7.1f}")
        print(
            f"    ratio ns.* probes (sum {namespace_ms:.1f} ms) / unshare: "
            f"{namespace_ms / 1000 / unshare_wall:7.2f}"
        )
    if criu_wall is None:
        print("  criu check --all: absent")
    else:
        print(f"  criu check --all {criu_wall * 1000:44.1f} ms  {criu_state}")
        print(f"    ratio engine suite (--jobs {cpus}) / criu check: {parallel / criu_wall:7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
