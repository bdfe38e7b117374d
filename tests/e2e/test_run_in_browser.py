"""A maintainer starts a run on a host with a real agent and watches it reach 100 %.

Real processes: the central Celery worker and an agent (the probe engine, as root)
against the test Redis; the live server (this process) dispatches through the same
broker, and the run page polls /runs/<id>/progress/ every second.
"""

from __future__ import annotations

import os
import re

import pytest

from probes.models import Host, ProbeRun
from probes.services import hosts
from tests.probes.conftest import wait_for

from .conftest import expect, screenshot, sign_in

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the agent runs probes as root")


def test_a_maintainer_watches_a_real_run_reach_100_percent(site, page, maintainer, workers):
    host = hosts.host_enroll("e2e-agent")
    workers.central()
    workers.agent(host)
    wait_for(lambda: Host.objects.filter(pk=host.pk, state="active").exists(), 30, "the heartbeat")

    sign_in(page, maintainer.username)
    page.goto(f"/hosts/{host.name}/")
    page.get_by_label("Probes").fill("ns.uts.* ns.ipc.*")
    page.get_by_role("button", name="Start run").click()
    expect(page).to_have_url(re.compile(r"/runs/\d+/$"))
    run = ProbeRun.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))
    assert run.expected >= 2, run.probe_ids

    bar = page.locator("#run-bar")
    expect(bar).to_have_attribute("max", str(run.expected))
    expect(bar).to_have_attribute("value", str(run.expected), timeout=30_000)
    expect(page.locator("#run-progress")).to_contain_text("100 %")
    expect(page.locator("#run-progress")).to_contain_text(
        f"{run.expected} of {run.expected} results"
    )
    screenshot(page, "run")
