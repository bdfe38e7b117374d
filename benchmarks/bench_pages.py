"""Benchmark: server time of the main web pages on the synthetic data set.

Not a test. Run from the repository root against a PostgreSQL database:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_api \\
        .venv/bin/python benchmarks/bench_pages.py [--requests 7]

It migrates, loads benchmarks/synthetic.py's 800,000 results when the database holds no
result yet (an existing data set is reused, never dropped), and prints the server time of
the roadmap (/), the matrix (/matrix/), an item page (the item with the most probes) and
the report page (/report/), through Django's test Client in this process, as an anonymous
visitor: median, min and max of --requests requests after one warm-up. Target: under
300 ms each. A page the app does not serve yet prints "not available".
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic  # noqa: E402
from timing import server_time  # noqa: E402

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/bench_api"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=7, help="timed requests per page")
    return parser.parse_args()


def prepare() -> None:
    """Migrate, and load the synthetic data set only when no result is stored yet."""
    from django.core.management import call_command

    from probes.models import ProbeResult

    call_command("migrate", verbosity=0)
    count = ProbeResult.objects.count()
    if count:
        print(f"data: {count:,} results already loaded")
        return
    loaded = synthetic.load(verbose=False)
    print(f"data: loaded {loaded.results:,} synthetic results in {loaded.seconds:.1f} s")


def plain_static_files() -> None:
    """Serve static URLs without collectstatic's manifest: this times the views, not assets."""
    from django.conf import settings
    from django.test.utils import override_settings

    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    override_settings(STORAGES=storages).enable()


def busiest_item() -> str | None:
    """The slug of the roadmap item with the most probes (its page shows the most evidence)."""
    from django.db.models import Count

    from roadmap.models import RoadmapItem

    items = RoadmapItem.objects.annotate(n=Count("probes"))
    item = items.filter(n__gt=0).order_by("-n", "slug").first() or items.order_by("pk").first()
    return item.slug if item else None


def main() -> int:
    args = parse()
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE)
    synthetic.django_setup()
    plain_static_files()
    prepare()
    slug = busiest_item()
    pages = [("roadmap", "/"), ("matrix", "/matrix/")]
    if slug:
        pages.append(("item", f"/items/{slug}/"))
    else:
        print("item: no item in the database")
    pages.append(("report", "/report/"))
    for label, path in pages:
        server_time(path, args.requests, label=label)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
