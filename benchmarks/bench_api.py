"""Benchmark: API server time on the synthetic data set, and a paginated list under load.

Not a test. Create an empty PostgreSQL database first, then run from the repository root:

    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE bench_api'
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_api \\
        .venv/bin/python benchmarks/bench_api.py [--requests 20] [--seconds 10]

It migrates, loads benchmarks/synthetic.py's 800,000 results when the database holds no
result yet (about a minute; later runs reuse them), and prints:

1. Server time of GET /api/v1/matrix/ and GET /api/v1/report/ (the whole matrix of 200
   kernels x 80 probes, and the report), through Django's test Client in this process:
   median, min and max of --requests requests after one warm-up. Target: under 300 ms
   each. An endpoint the app does not serve yet prints "not available". GET
   /api/v1/regressions/ and /api/v1/kernels/compare/ (6.17 -> 6.18) are timed too.
2. Requests per second of GET /api/v1/results/?status=fail (cursor pagination) against a
   real gunicorn on 127.0.0.1 (--workers, a free port): with ``wrk`` when it is installed
   (first page, --connections, --seconds), and with a bounded Python thread-pool
   generator that follows each ``next`` cursor for --pages pages (at most --max-requests
   requests and --seconds seconds). Loopback only; gunicorn is stopped at the end.

Requests carry a maintainer's knox token (user ``bench``, made here), like a script's.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic  # noqa: E402
from timing import server_time  # noqa: E402

ROOT = synthetic.ROOT
LIST_PATH = "/api/v1/results/?status=fail"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20, help="timed requests per endpoint")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each load run")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--pages", type=int, default=10, help="cursor pages per walk")
    parser.add_argument("--max-requests", type=int, default=20_000, help="cap of the generator")
    return parser.parse_args()


def token() -> str:
    """A fresh knox token of the maintainer ``bench``."""
    from django.contrib.auth import get_user_model
    from knox.models import AuthToken

    from roadmap.services.maintainers import maintainers_group_ensure

    user, _ = get_user_model().objects.get_or_create(username="bench")
    user.groups.add(maintainers_group_ensure())
    return AuthToken.objects.create(user=user)[1]


def prepare() -> None:
    from django.core.management import call_command

    from probes.models import ProbeResult

    call_command("migrate", verbosity=0)
    count = ProbeResult.objects.count()
    if count:
        print(f"data: {count:,} results already loaded")
        return
    loaded = synthetic.load(verbose=False)
    print(f"data: loaded {loaded.results:,} synthetic results in {loaded.seconds:.1f} s")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_start(port: int, workers: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / "bench_api_gunicorn.log", "wb")  # noqa: SIM115
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "roadmap.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--access-logfile",
            "/dev/null",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}: see {log.name}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/")
            conn.getresponse().read()
            conn.close()
            return server
        except OSError:
            time.sleep(0.2)
    gunicorn_stop(server)
    raise RuntimeError("gunicorn did not answer within 30 s")


def gunicorn_stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def wrk_load(port: int, auth: str, args: argparse.Namespace) -> None:
    wrk = shutil.which("wrk")
    if not wrk:
        print("wrk: not installed (apt-get install wrk), skipped")
        return
    out = subprocess.run(
        [
            wrk,
            "-t2",
            f"-c{args.connections}",
            f"-d{max(1, round(args.seconds))}s",
            "--latency",
            "-H",
            f"Authorization: Token {auth}",
            f"http://127.0.0.1:{port}{LIST_PATH}",
        ],
        capture_output=True,
        text=True,
        timeout=args.seconds + 30,
    ).stdout
    rps = next((line.split()[1] for line in out.splitlines() if "Requests/sec" in line), "?")
    p50 = next(
        (line.split()[1] for line in out.splitlines() if line.strip().startswith("50%")), "?"
    )
    p99 = next(
        (line.split()[1] for line in out.splitlines() if line.strip().startswith("99%")), "?"
    )
    non2xx = [line.strip() for line in out.splitlines() if "Non-2xx" in line]
    print(
        f"wrk GET {LIST_PATH} (first page, {args.connections} connections, "
        f"{args.seconds:.0f} s): {rps} req/s, latency p50 {p50}, p99 {p99}"
        + (f"; {non2xx[0]}" if non2xx else "")
    )


def python_load(port: int, auth: str, args: argparse.Namespace) -> None:
    """Threads on keep-alive connections walk the cursor pages; bounded in count and time."""
    lock = threading.Lock()
    done = {"ok": 0, "bad": 0, "requests": 0}
    latencies: list[float] = []
    stop_at = time.monotonic() + args.seconds
    headers = {"Authorization": f"Token {auth}"}

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        path, page = LIST_PATH, 0
        while time.monotonic() < stop_at:
            with lock:
                if done["requests"] >= args.max_requests:
                    break
                done["requests"] += 1
            start = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                latencies.append(elapsed)
                done["ok" if response.status == 200 else "bad"] += 1
            following = json.loads(body).get("next") if response.status == 200 else None
            page += 1
            if following and page < args.pages:
                parts = urllib.parse.urlsplit(following)
                path = f"{parts.path}?{parts.query}"
            else:
                path, page = LIST_PATH, 0
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(args.connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    total = done["ok"] + done["bad"]
    latencies.sort()
    p50 = latencies[len(latencies) // 2] if latencies else 0.0
    p99 = latencies[int(len(latencies) * 0.99)] if latencies else 0.0
    print(
        f"python GET {LIST_PATH} (walking {args.pages} cursor pages, {args.connections} "
        f"threads, {seconds:.1f} s): {total / seconds:.0f} req/s, {total:,} requests "
        f"({done['bad']} not 200), latency p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )


def main() -> int:
    args = parse()
    synthetic.django_setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        print(f"note: the database is {connection.vendor}; the figures are for PostgreSQL")
    prepare()
    auth = token()
    print(f"server time through the test Client ({args.requests} requests after a warm-up):")
    for path in ("/api/v1/matrix/", "/api/v1/report/"):
        server_time(path, args.requests, HTTP_AUTHORIZATION=f"Token {auth}")
    print("also (same yardstick):")
    for path in ("/api/v1/regressions/", "/api/v1/kernels/compare/?old=6.17&new=6.18"):
        server_time(path, args.requests, HTTP_AUTHORIZATION=f"Token {auth}")
    connection.close()

    port = free_port()
    print(f"load on gunicorn 127.0.0.1:{port}, {args.workers} workers:")
    server = gunicorn_start(port, args.workers)
    try:
        wrk_load(port, auth, args)
        python_load(port, auth, args)
    finally:
        gunicorn_stop(server)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
