"""API fixtures: clients, tokens, an enrolled host, claims, runs and results made fast."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from probes import protocol
from probes.engine.results import SCHEMA_VERSION
from probes.models import Host, Kernel, Probe, ProbeResult, ProbeRun
from roadmap.models import Claim, RoadmapItem, Stakeholder

RELEASE = "6.18.44-test"


@pytest.fixture(autouse=True)
def fresh_throttles():
    # Throttle counters live in the cache, which outlives each test's transaction.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def token_for(user) -> str:  # noqa: ANN001 - a User
    from knox.models import AuthToken

    return AuthToken.objects.create(user=user)[1]


def client_for(user=None, *, token: str | None = None) -> APIClient:  # noqa: ANN001
    """A client that sends ``token`` (or a fresh token of ``user``) like a script does."""
    client = APIClient()
    if user is not None or token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token or token_for(user)}")
    return client


@pytest.fixture
def catalogue(seeded):
    from probes.services.catalogue import catalogue_sync

    catalogue_sync()


@pytest.fixture
def host(catalogue) -> Host:
    from probes.services.hosts import host_enroll

    return host_enroll("lab-1")


@pytest.fixture
def ibm(seeded) -> Stakeholder:
    return Stakeholder.objects.get(slug="ibm")


@pytest.fixture
def pid_ns(seeded) -> RoadmapItem:
    return RoadmapItem.objects.get(slug="pid-namespace")


@pytest.fixture
def ibm_claim(ibm_member, ibm, pid_ns) -> Claim:
    from roadmap.services.claims import claim_create

    return claim_create(ibm_member, pid_ns, ibm, "contributor")


@pytest.fixture
def dispatch(host, django_capture_on_commit_callbacks) -> Callable[..., ProbeRun]:
    """Queue runs without a broker: the on-commit send is captured, not executed."""
    from probes.services.runs import run_dispatch

    def queue(only: tuple[str, ...] = ("ns.uts.*",)) -> ProbeRun:
        with django_capture_on_commit_callbacks(execute=False):
            return run_dispatch(host, only=only)

    return queue


def import_envelope(host: Host, secret: str | None = None, release: str = RELEASE) -> dict:
    """A signed offline results file, as ``probes.agent sign`` makes it."""
    document = {
        "schema": SCHEMA_VERSION,
        "facts": {"kernel": {"release": release}},
        "options": {},
        "results": [
            {"probe_id": "ns.uts.isolation", "status": "pass", "detail": "ok", "evidence": {}},
            {"probe_id": "keys.basic", "status": "denied", "detail": "EPERM", "evidence": {}},
        ],
    }
    return protocol.seal(host.name, protocol.KIND_IMPORT, document, secret or host.secret)


def results_make(host: Host, count: int, *, release: str = RELEASE) -> list[ProbeResult]:
    """``count`` results spread over runs of ten probes, oldest first, one minute apart."""
    probes = list(Probe.objects.order_by("position")[:10])
    kernel, _ = Kernel.objects.get_or_create(release=release)
    start = timezone.now() - timedelta(minutes=count)
    rows: list[ProbeResult] = []
    run = None
    for n in range(count):
        if n % len(probes) == 0:
            run = ProbeRun.objects.create(
                host=host, kernel=kernel, trigger="manual", state="done", expected=len(probes)
            )
        rows.append(
            ProbeResult(
                run=run,
                probe=probes[n % len(probes)],
                host=host,
                kernel=kernel,
                status="pass" if n % 3 else "fail",
                detail=f"result {n}",
                observed_at=start + timedelta(minutes=n),
            )
        )
    return ProbeResult.objects.bulk_create(rows)
