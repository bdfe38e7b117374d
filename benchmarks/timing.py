"""Server time of one GET through Django's test Client: what the page and API benchmarks print."""

from __future__ import annotations

import statistics
import time

TARGET_MS = 300.0


def server_time(path: str, count: int, *, label: str = "", **headers: str) -> None:
    """Print the median, min and max wall time of ``count`` GETs of ``path`` (after one
    warm-up request), against the 300 ms target. A missing page prints "not available"."""
    from django.test import Client

    client = Client(**headers)
    prefix = f"{label:<10} " if label else ""
    try:
        first = client.get(path)
    except Exception as err:  # noqa: BLE001 - a benchmark reports and goes on
        print(f"{prefix}GET {path}: error {type(err).__name__}: {err}")
        return
    if first.status_code == 404:
        print(f"{prefix}GET {path}: not available")
        return
    if first.status_code != 200:
        print(f"{prefix}GET {path}: HTTP {first.status_code}: {first.content[:200]!r}")
        return
    times = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    median = statistics.median(times)
    verdict = "ok" if median < TARGET_MS else "OVER TARGET"
    print(
        f"{prefix}GET {path}: median {median:.1f} ms, min {min(times):.1f}, "
        f"max {max(times):.1f} ({count} requests, {len(first.content):,} bytes; "
        f"target < {TARGET_MS:.0f} ms: {verdict})"
    )
